import { createPublicKey, generateKeyPairSync, KeyObject, randomBytes, randomUUID, verify } from 'node:crypto';
import { createServer, IncomingMessage, Server, ServerResponse, STATUS_CODES } from 'node:http';
import { AddressInfo, Socket } from 'node:net';

export interface FakeGitHubOptions {
  /** A personal access token the fake accepts (`Authorization: token X` or `Bearer X`). */
  token?: string;
  /** A GitHub App whose JWTs (signed with the private half of publicKeyPem) may get installation tokens. */
  app?: { appId: number; installationId: number; publicKeyPem: string };
  /** Lifetime of the installation tokens the fake issues; GitHub's is one hour. */
  installationTokenTtlMs?: number;
  /** false plays a GitHub Enterprise Server older than 3.10: generate-jitconfig answers 404. Default true. */
  jitSupported?: boolean;
  /** false plays a GitHub Enterprise Server that ignores `?name=` on runner lists and lists them all. Default true. */
  runnerNameFilterSupported?: boolean;
}

export interface FakeGitHubRequest {
  method: string;
  /** As sent, query string included: `/repos/o/r/actions/runners?name=x&per_page=100`. */
  path: string;
  /** The JSON body, parsed; the raw text when it was not JSON; undefined when there was none. */
  body: unknown;
  authorization?: string;
  /** Every request header, names in lower case. */
  headers: Record<string, string>;
  /** Date.now() when the request arrived. */
  at: number;
}

export interface FakeGitHubRunner {
  id: number;
  name: string;
  labels: string[];
  /** `owner/repo` for a repository runner, `org` for an organisation runner. */
  scope: string;
  status: 'online' | 'offline';
  registeredWith: 'jit' | 'registration-token';
}

const DOCS = 'https://docs.github.com/rest';
const SUPPORTED_API_VERSIONS = new Set(['2022-11-28', '2026-03-10']);
const HOUR_MS = 60 * 60_000;
/** GitHub accepts an App JWT that expires at most 10 minutes ahead; a little slack for clocks, as GitHub allows. */
const MAX_JWT_LIFETIME_S = 600 + 60;

type Fault = { kind: 'fail'; status: number; message?: string } | { kind: 'hang' };
interface PendingFault {
  fault: Fault;
  remaining: number;
  pattern?: RegExp;
}

interface Reply {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
}

interface Route {
  method: string;
  pattern: RegExp;
  handle(params: string[], request: ParsedRequest): Reply;
}

interface ParsedRequest {
  url: URL;
  body: unknown;
}

class HttpProblem extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly extra: Record<string, unknown> = {},
  ) {
    super(message);
  }
}

/**
 * A stand-in for GitHub's REST API on 127.0.0.1, written from GitHub's documentation of the endpoints RunnerHub
 * uses: GitHub App installation tokens, just-in-time runner configurations, registration tokens, and listing and
 * removing self-hosted runners, for repositories and organisations. It checks credentials as GitHub does (tokens,
 * App JWTs signed with the App's key, installation tokens until they expire), keeps the runners it registered, and
 * can be told to fail or to never answer, so that tests can see how RunnerHub copes.
 */
export class FakeGitHub {
  readonly requests: FakeGitHubRequest[] = [];

  private readonly runnersById = new Map<number, FakeGitHubRunner & { groupId: number }>();
  private readonly installationTokens = new Map<string, number>();
  private readonly registrationTokens = new Map<string, { scope: string; expiresAt: number }>();
  private readonly faults: PendingFault[] = [];
  private readonly sockets = new Set<Socket>();
  private readonly routes: Route[];
  private readonly appKey: KeyObject | undefined;
  private nextRunnerId = 1;

  private constructor(
    private readonly server: Server,
    readonly url: string,
    private readonly options: FakeGitHubOptions,
  ) {
    this.appKey = options.app ? createPublicKey(options.app.publicKeyPem) : undefined;
    this.routes = this.defineRoutes();
  }

  static async start(options: FakeGitHubOptions = {}): Promise<FakeGitHub> {
    const server = createServer();
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    const { port } = server.address() as AddressInfo;
    const fake = new FakeGitHub(server, `http://127.0.0.1:${port}`, options);
    server.on('connection', (socket) => {
      fake.sockets.add(socket);
      socket.once('close', () => fake.sockets.delete(socket));
    });
    server.on('request', (request, response) => fake.receive(request, response));
    return fake;
  }

  /** Runners GitHub lists right now, in the order they registered. */
  runners(): FakeGitHubRunner[] {
    return [...this.runnersById.values()].map(({ id, name, labels, scope, status, registeredWith }) => ({
      id,
      name,
      labels: [...labels],
      scope,
      status,
      registeredWith,
    }));
  }

  /** Every installation token issued so far, oldest first (expired ones included). */
  issuedInstallationTokens(): string[] {
    return [...this.installationTokens.keys()];
  }

  /** Every registration token issued so far, oldest first, with its scope (`owner/repo` or `org`). */
  issuedRegistrationTokens(): Array<{ token: string; scope: string; expiresAt: Date }> {
    return [...this.registrationTokens].map(([token, { scope, expiresAt }]) => ({
      token,
      scope,
      expiresAt: new Date(expiresAt),
    }));
  }

  /** Requests whose `path` matches, optionally of one method only. */
  requestsTo(pathPattern: RegExp, method?: string): FakeGitHubRequest[] {
    return this.requests.filter((r) => pathPattern.test(r.path) && (!method || r.method === method.toUpperCase()));
  }

  /**
   * Answers the next `count` requests whose path matches (any request when no pattern) with `status` and a body
   * in GitHub's shape ({ message }), before any credential check, as a failing GitHub or a proxy in front of it would.
   */
  failNext(count: number, status: number, pathPattern?: RegExp, message?: string): void {
    this.faults.push({ fault: { kind: 'fail', status, message }, remaining: count, pattern: pathPattern });
  }

  /** Never answers the next `count` requests whose path matches: the connection stays open until the client gives up. */
  hangNext(count: number, pathPattern?: RegExp): void {
    this.faults.push({ fault: { kind: 'hang' }, remaining: count, pattern: pathPattern });
  }

  /** What `config.sh --token` does with a registration token: the runner joins the token's scope. */
  configureRunner(registrationToken: string, runner: { name: string; labels: string[] }): FakeGitHubRunner {
    const issued = this.registrationTokens.get(registrationToken);
    if (!issued || issued.expiresAt <= Date.now()) throw new Error('FakeGitHub: unknown or expired registration token');
    if (this.findRunner(issued.scope, runner.name)) {
      throw new Error(`FakeGitHub: a runner named ${runner.name} already exists in ${issued.scope}`);
    }
    const added = this.addRunner(issued.scope, runner.name, runner.labels, 0, 'registration-token');
    return this.runners().find((r) => r.id === added.id)!;
  }

  /** As GitHub does once an ephemeral runner finished its job: it leaves the list. */
  removeRunner(name: string): void {
    for (const [id, runner] of this.runnersById) {
      if (runner.name === name) this.runnersById.delete(id);
    }
  }

  /** Closes the server and every connection, including those of requests it was told to never answer. */
  async stop(): Promise<void> {
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    this.server.closeAllConnections();
    for (const socket of this.sockets) socket.destroy();
    await closed;
  }

  // ---------------------------------------------------------------------------------------------------------------

  private receive(request: IncomingMessage, response: ServerResponse): void {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => this.answer(request, Buffer.concat(chunks).toString('utf8'), response));
  }

  private answer(request: IncomingMessage, text: string, response: ServerResponse): void {
    const method = (request.method ?? 'GET').toUpperCase();
    const path = request.url ?? '/';
    const headers = Object.fromEntries(
      Object.entries(request.headers).map(([name, value]) => [
        name,
        Array.isArray(value) ? value.join(', ') : (value ?? ''),
      ]),
    );
    let body: unknown;
    let unparsable = false;
    if (text !== '') {
      try {
        body = JSON.parse(text);
      } catch {
        body = text;
        unparsable = true;
      }
    }
    this.requests.push({ method, path, body, authorization: headers.authorization, headers, at: Date.now() });

    const fault = this.takeFault(path);
    if (fault?.kind === 'hang') return;
    let reply: Reply;
    if (fault?.kind === 'fail') {
      reply = {
        status: fault.status,
        body: { message: fault.message ?? STATUS_CODES[fault.status], documentation_url: DOCS },
      };
    } else {
      try {
        if (unparsable) throw new HttpProblem(400, 'Problems parsing JSON');
        reply = this.route(method, new URL(path, this.url), body, headers);
      } catch (error) {
        // A bug of the fake answers 500 with its message rather than crash the test process.
        const problem =
          error instanceof HttpProblem ? error : new HttpProblem(500, `FakeGitHub failed: ${String(error)}`);
        reply = {
          status: problem.status,
          body: { message: problem.message, ...problem.extra, documentation_url: DOCS },
        };
      }
    }
    const payload = reply.body === undefined ? '' : JSON.stringify(reply.body);
    response.writeHead(reply.status, {
      ...(payload ? { 'content-type': 'application/json; charset=utf-8' } : {}),
      'x-github-request-id': randomUUID().toUpperCase(),
      'x-github-api-version-selected': '2022-11-28',
      ...reply.headers,
    });
    response.end(payload);
  }

  private takeFault(path: string): Fault | undefined {
    const index = this.faults.findIndex((f) => f.remaining > 0 && (!f.pattern || f.pattern.test(path)));
    if (index < 0) return undefined;
    const pending = this.faults[index];
    pending.remaining -= 1;
    if (pending.remaining === 0) this.faults.splice(index, 1);
    return pending.fault;
  }

  private route(method: string, url: URL, body: unknown, headers: Record<string, string>): Reply {
    const version = headers['x-github-api-version'];
    if (version !== undefined && !SUPPORTED_API_VERSIONS.has(version)) {
      throw new HttpProblem(400, `API version ${version} is not supported.`);
    }
    // Credentials first, as GitHub does: a bad token gets 401 whatever it asked for.
    if (url.pathname.startsWith('/app/') || url.pathname === '/app') this.requireAppJwt(headers.authorization);
    else this.requireToken(headers.authorization);

    for (const route of this.routes) {
      const match = route.pattern.exec(url.pathname);
      if (match && route.method === method) {
        return route.handle(match.slice(1).map(decodeURIComponent), { url, body });
      }
    }
    throw new HttpProblem(404, 'Not Found');
  }

  private defineRoutes(): Route[] {
    const repo = '/repos/([^/]+)/([^/]+)/actions/runners';
    const org = '/orgs/([^/]+)/actions/runners';
    const repoScope = (p: string[]) => `${p[0]}/${p[1]}`;
    const orgScope = (p: string[]) => p[0];
    const routes: Route[] = [
      {
        method: 'POST',
        pattern: /^\/app\/installations\/([^/]+)\/access_tokens$/,
        handle: ([id]) => this.issueInstallationToken(id),
      },
    ];
    for (const [prefix, scopeOf, offset] of [
      [repo, repoScope, 2],
      [org, orgScope, 1],
    ] as const) {
      routes.push(
        {
          method: 'POST',
          pattern: new RegExp(`^${prefix}/generate-jitconfig$`),
          handle: (p, r) => this.generateJitConfig(scopeOf(p), r.body),
        },
        {
          method: 'POST',
          pattern: new RegExp(`^${prefix}/registration-token$`),
          handle: (p) => this.issueRegistrationToken(scopeOf(p)),
        },
        { method: 'GET', pattern: new RegExp(`^${prefix}$`), handle: (p, r) => this.listRunners(scopeOf(p), r.url) },
        {
          method: 'GET',
          pattern: new RegExp(`^${prefix}/(\\d+)$`),
          handle: (p) => ({ status: 200, body: this.runnerJson(this.runnerIn(scopeOf(p), Number(p[offset]))) }),
        },
        {
          method: 'DELETE',
          pattern: new RegExp(`^${prefix}/(\\d+)$`),
          handle: (p) => {
            this.runnersById.delete(this.runnerIn(scopeOf(p), Number(p[offset])).id);
            return { status: 204 };
          },
        },
      );
    }
    return routes;
  }

  private requireToken(authorization: string | undefined): void {
    const credential = credentialOf(authorization);
    if (credential === undefined) throw new HttpProblem(401, 'Requires authentication');
    if (this.options.token !== undefined && credential === this.options.token) return;
    const expiresAt = this.installationTokens.get(credential);
    if (expiresAt !== undefined && expiresAt > Date.now()) return;
    throw new HttpProblem(401, 'Bad credentials');
  }

  /** GitHub's checks of an App JWT: RS256 signed with the App's key, issued by the App, not expired, at most 10 min. */
  private requireAppJwt(authorization: string | undefined): void {
    const jwt = credentialOf(authorization);
    if (jwt === undefined) throw new HttpProblem(401, 'Requires authentication');
    const undecodable = new HttpProblem(401, 'A JSON web token could not be decoded');
    const parts = jwt.split('.');
    if (!this.appKey || !this.options.app || parts.length !== 3) throw undecodable;
    let header: unknown;
    let claims: unknown;
    try {
      header = JSON.parse(Buffer.from(parts[0], 'base64url').toString('utf8'));
      claims = JSON.parse(Buffer.from(parts[1], 'base64url').toString('utf8'));
    } catch {
      throw undecodable;
    }
    if (!isRecord(header) || header.alg !== 'RS256' || !isRecord(claims)) throw undecodable;
    const signed = verify(
      'RSA-SHA256',
      Buffer.from(`${parts[0]}.${parts[1]}`),
      this.appKey,
      Buffer.from(parts[2], 'base64url'),
    );
    if (!signed) throw undecodable;
    const now = Math.floor(Date.now() / 1000);
    const { iss, iat, exp } = claims;
    if (String(iss) !== String(this.options.app.appId)) throw new HttpProblem(401, 'Integration not found');
    if (typeof iat !== 'number' || iat > now + 60) {
      throw new HttpProblem(
        401,
        "'Issued at' claim ('iat') must be an Integer representing the time that the assertion was issued.",
      );
    }
    if (typeof exp !== 'number' || exp <= now) {
      throw new HttpProblem(
        401,
        "'Expiration time' claim ('exp') must be a numeric value representing the future time at which the assertion expires.",
      );
    }
    if (exp - now > MAX_JWT_LIFETIME_S || exp - iat > MAX_JWT_LIFETIME_S) {
      throw new HttpProblem(401, "'Expiration time' claim ('exp') is too far in the future.");
    }
  }

  private issueInstallationToken(installationId: string): Reply {
    if (String(this.options.app?.installationId) !== installationId) throw new HttpProblem(404, 'Not Found');
    const token = `ghs_${randomAlphanumeric(36)}`;
    const expiresAt = Date.now() + (this.options.installationTokenTtlMs ?? HOUR_MS);
    this.installationTokens.set(token, expiresAt);
    return {
      status: 201,
      body: {
        token,
        expires_at: new Date(expiresAt).toISOString(),
        permissions: { administration: 'write', organization_self_hosted_runners: 'write', metadata: 'read' },
        repository_selection: 'all',
      },
    };
  }

  private generateJitConfig(scope: string, body: unknown): Reply {
    if (this.options.jitSupported === false) throw new HttpProblem(404, 'Not Found');
    const problems: string[] = [];
    if (!isRecord(body)) throw new HttpProblem(422, 'Invalid request.', { errors: ['The body must be an object.'] });
    const { name, runner_group_id: groupId, labels, work_folder: workFolder } = body;
    if (typeof name !== 'string' || name.trim() === '') problems.push('"name" must be a non-empty string.');
    if (!Number.isSafeInteger(groupId) || (groupId as number) < 1) {
      problems.push('"runner_group_id" must be a positive integer.');
    }
    if (
      !Array.isArray(labels) ||
      labels.length < 1 ||
      labels.length > 100 ||
      !labels.every((l) => typeof l === 'string' && l.trim() !== '')
    ) {
      problems.push('"labels" must be an array of 1 to 100 non-empty strings.');
    }
    if (workFolder !== undefined && typeof workFolder !== 'string') problems.push('"work_folder" must be a string.');
    if (problems.length > 0) throw new HttpProblem(422, 'Invalid request.', { errors: problems });
    if (this.findRunner(scope, name as string)) {
      throw new HttpProblem(409, `Already exists - A runner with the name ${name as string} already exists.`);
    }
    const runner = this.addRunner(scope, name as string, labels as string[], groupId as number, 'jit');
    const secret = (key: string) =>
      Buffer.from(JSON.stringify({ [key]: randomBytes(24).toString('hex') })).toString('base64');
    const encoded = Buffer.from(
      JSON.stringify({
        '.runner': secret('agentId'),
        '.credentials': secret('clientId'),
        '.credentials_rsaparams': secret('modulus'),
      }),
    ).toString('base64');
    return { status: 201, body: { runner: this.runnerJson(runner), encoded_jit_config: encoded } };
  }

  private issueRegistrationToken(scope: string): Reply {
    const token = randomAlphanumeric(29).toUpperCase();
    const expiresAt = Date.now() + HOUR_MS;
    this.registrationTokens.set(token, { scope, expiresAt });
    return { status: 201, body: { token, expires_at: new Date(expiresAt).toISOString() } };
  }

  private listRunners(scope: string, url: URL): Reply {
    const name = url.searchParams.get('name');
    const perPage = Math.min(Math.max(Number(url.searchParams.get('per_page') ?? 30) || 30, 1), 100);
    const page = Math.max(Number(url.searchParams.get('page') ?? 1) || 1, 1);
    const all = [...this.runnersById.values()].filter(
      (r) =>
        r.scope === scope && (name === null || this.options.runnerNameFilterSupported === false || r.name === name),
    );
    const lastPage = Math.max(Math.ceil(all.length / perPage), 1);
    const links: string[] = [];
    const pageUrl = (n: number) => {
      const next = new URL(url.pathname + url.search, this.url);
      next.searchParams.set('per_page', String(perPage));
      next.searchParams.set('page', String(n));
      return next.toString();
    };
    if (page < lastPage) links.push(`<${pageUrl(page + 1)}>; rel="next"`, `<${pageUrl(lastPage)}>; rel="last"`);
    if (page > 1) links.push(`<${pageUrl(page - 1)}>; rel="prev"`, `<${pageUrl(1)}>; rel="first"`);
    return {
      status: 200,
      body: {
        total_count: all.length,
        runners: all.slice((page - 1) * perPage, page * perPage).map((r) => this.runnerJson(r)),
      },
      headers: links.length > 0 ? { link: links.join(', ') } : {},
    };
  }

  private addRunner(
    scope: string,
    name: string,
    labels: string[],
    groupId: number,
    registeredWith: FakeGitHubRunner['registeredWith'],
  ): FakeGitHubRunner & { groupId: number } {
    const runner = {
      id: this.nextRunnerId++,
      name,
      labels: [...labels],
      scope,
      status: 'offline' as const,
      registeredWith,
      groupId,
    };
    this.runnersById.set(runner.id, runner);
    return runner;
  }

  private findRunner(scope: string, name: string): FakeGitHubRunner | undefined {
    return [...this.runnersById.values()].find((r) => r.scope === scope && r.name === name);
  }

  private runnerIn(scope: string, id: number): FakeGitHubRunner & { groupId: number } {
    const runner = this.runnersById.get(id);
    if (!runner || runner.scope !== scope) throw new HttpProblem(404, 'Not Found');
    return runner;
  }

  /** A runner as GitHub's REST API shows one. */
  private runnerJson(runner: FakeGitHubRunner & { groupId: number }) {
    return {
      id: runner.id,
      name: runner.name,
      os: 'Linux',
      status: runner.status,
      busy: false,
      ephemeral: true,
      runner_group_id: runner.groupId || 1,
      labels: runner.labels.map((name, index) => ({ id: index + 1, name, type: 'custom' })),
    };
  }
}

/** A throwaway RSA key pair for GitHub App tests, the private half in PKCS#1 PEM as GitHub hands it out. */
export function generateAppKeyPair(): { privateKeyPem: string; publicKeyPem: string } {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', {
    modulusLength: 2048,
    privateKeyEncoding: { type: 'pkcs1', format: 'pem' },
    publicKeyEncoding: { type: 'spki', format: 'pem' },
  });
  return { privateKeyPem: privateKey, publicKeyPem: publicKey };
}

/** `token X` and `Bearer X` alike, as GitHub accepts both for tokens and JWTs. */
function credentialOf(authorization: string | undefined): string | undefined {
  const match = /^(?:token|bearer)\s+(\S+)\s*$/i.exec(authorization ?? '');
  return match?.[1];
}

function randomAlphanumeric(length: number): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
  return Array.from(randomBytes(length), (byte) => alphabet[byte % alphabet.length]).join('');
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
