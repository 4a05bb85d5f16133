import {
  createPublicKey,
  generateKeyPairSync,
  KeyObject,
  randomBytes,
  randomInt,
  randomUUID,
  verify,
} from 'node:crypto';
import { createServer, IncomingMessage, Server, ServerResponse, STATUS_CODES } from 'node:http';
import { AddressInfo, Socket } from 'node:net';
import { encodeJitConfig, rsaParametersFile } from './fake-github-runner-files';
import { signedDelivery, WorkflowJobAction, workflowJobPayload } from './github-webhooks';

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
  /**
   * The address to listen on; 127.0.0.1 unless given. A Docker network's gateway address lets runner containers on
   * that network and RunnerHub on the host reach the fake at the same URL.
   */
  listenHost?: string;
  /** The port to listen on; any free one unless given. */
  port?: number;
  /**
   * Where the REST API lives: '' (the default) plays github.com, whose API has its own host; '/api/v3' plays GitHub
   * Enterprise Server, whose REST API lives under /api/v3 of the web host (then `apiUrl` is what RunnerHub's
   * GITHUB_API_URL must be, and `url`, the origin, is the web URL runners are configured with).
   */
  apiPrefix?: '' | '/api/v3';
  /**
   * Which idle runner takes which queued job. 'fifo' (the default, for deterministic tests): the oldest queued job goes
   * to the runner that has waited longest among those that match. 'random' plays GitHub: any idle runner whose labels
   * match may take any queued job, so the runner made for job A may run job B.
   */
  assignment?: 'fifo' | 'random';
  /** true answers every runner's message poll with "runner version deprecated" (see setDeprecatedRunners). */
  deprecatedRunners?: boolean;
  /** How long a runner's message poll is held open when no job is waiting; GitHub holds it ~50 s. Default 5000. */
  longPollMs?: number;
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

/** What the fake knows about a runner beyond what `runners()` lists. */
export interface FakeGitHubRunnerState extends FakeGitHubRunner {
  busy: boolean;
  ephemeral: boolean;
  runnerGroupId: number;
  /** The job it runs now. */
  jobId: number | null;
  /** The runner version it reported when it opened its session. */
  version: string | null;
}

export type WorkflowJobConclusion = 'success' | 'failure' | 'cancelled' | 'skipped';

/** A workflow job as the fake keeps it; `workflowJob(id)` returns a copy. */
export interface FakeWorkflowJob {
  id: number;
  runId: number;
  /** `owner/repo`. */
  repository: string;
  name: string;
  /** `runs-on` labels; a runner takes the job only if it has every one of them (case-insensitive). */
  labels: string[];
  /** Shell scripts, run one after another with bash by the runner that takes the job. */
  steps: string[];
  status: 'queued' | 'in_progress' | 'completed';
  conclusion: WorkflowJobConclusion | null;
  runnerId: number | null;
  runnerName: string | null;
  runnerGroupId: number | null;
  createdAt: Date;
  startedAt: Date | null;
  completedAt: Date | null;
  /** What the runner reported: each step that ran, with its exit code. */
  stepResults: Array<{ name: string; exitCode: number }>;
}

/** A `workflow_job` webhook the fake sent (it never retries one). */
export interface FakeGitHubDelivery {
  deliveryId: string;
  event: 'workflow_job';
  action: WorkflowJobAction;
  jobId: number;
  runnerName: string | null;
  conclusion: string | null;
  /** The receiver's HTTP status; null when it did not answer (refused, timed out: `error` says which). */
  status: number | null;
  error?: string;
  sentAt: Date;
  payload: ReturnType<typeof workflowJobPayload>;
}

const DOCS = 'https://docs.github.com/rest';
/**
 * Where the runner-facing services live on the fake: the `url` that runner-registration returns and the `serverUrl`
 * of JIT configs. GitHub Enterprise Server serves them under /_services/pipelines of its own host (the example in
 * actions/runner ConfigurationManager.cs); github.com under pipelines.actions.githubusercontent.com.
 */
const SERVICES_PATH = '/_services/pipelines';
const RUNNER_API = '/_apis/distributedtask/pools';
/** GitHub's webhook deliveries time out after 10 seconds. */
const WEBHOOK_TIMEOUT_MS = 10_000;
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
  handle(params: string[], request: ParsedRequest): Reply | Promise<Reply>;
}

interface ParsedRequest {
  url: URL;
  body: unknown;
  headers: Record<string, string>;
  response: ServerResponse;
}

interface RunnerRecord extends FakeGitHubRunner {
  groupId: number;
  ephemeral: boolean;
  /** The runner's OAuth client id (in its .credentials): the bearer credential of the simplified runner protocol. */
  clientId: string;
  /** Lower-case names of the labels config.sh added by default (self-hosted, Linux, X64): GitHub's read-only ones. */
  systemLabels: Set<string>;
  sessionId?: string;
  version?: string;
  jobId?: number;
}

interface WaitingPoll {
  runner: RunnerRecord;
  sessionId: string;
  resolve(reply: Reply): void;
  timer: NodeJS.Timeout;
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
 *
 * It also plays GitHub's part for real runners (the stand-ins of scripts/build-runner-standins.sh): workflow jobs that
 * it queues, announces with signed `workflow_job` webhooks and hands to a matching runner; the runner-registration
 * endpoint config.sh uses; and a SIMPLIFIED runner protocol. The real one (actions/runner
 * src/Runner.Listener/MessageListener.cs, src/Sdk/DTGenerated/Generated/TaskAgentHttpClientBase.cs, the broker and run
 * service clients under src/Sdk) exchanges a JWT signed with the runner's RSA key for an OAuth token, long-polls about
 * 50 s for encrypted messages, acquires the job from the run service and streams logs and timelines. Here the runner's
 * OAuth clientId is its bearer credential, paths are modelled on the distributedtask routes, a job message carries the
 * steps as plain scripts, and one PATCH reports the result. RunnerHub never sees this protocol: what matters to it is
 * the runner's env/command/user contract, its files, its exit codes and GitHub's webhooks, which are kept real.
 *   POST   {prefix}/actions/runner-registration          Authorization: RemoteAuth <registration token>
 *   GET    /_services/pipelines/_apis/distributedtask/pools                        Bearer <tenant token>
 *   GET    .../pools/{poolId}/agents?agentName=  POST .../agents  PUT|DELETE .../agents/{id}   Bearer <tenant token>
 *   POST   .../pools/{poolId}/sessions   DELETE .../sessions/{sessionId}           Bearer <clientId>
 *   GET    .../pools/{poolId}/messages?sessionId=  (long poll: 200 job message, 202 none)   Bearer <clientId>
 *   DELETE .../pools/{poolId}/messages/{messageId}   PATCH .../pools/{poolId}/jobrequests/{requestId}   Bearer <clientId>
 */
export class FakeGitHub {
  readonly requests: FakeGitHubRequest[] = [];
  /** Where REST requests go: `url` plus the API prefix ('' for github.com, '/api/v3' for GitHub Enterprise Server). */
  readonly apiUrl: string;
  /** The base URL runners get as serverUrl (JIT configs) or from runner-registration. */
  readonly servicesUrl: string;

  private readonly runnersById = new Map<number, RunnerRecord>();
  private readonly installationTokens = new Map<string, number>();
  private readonly registrationTokens = new Map<string, { scope: string; expiresAt: number }>();
  /** Tokens runner-registration hands out to config.sh, valid for the pools and agents endpoints of one scope. */
  private readonly tenantTokens = new Map<string, { scope: string; expiresAt: number }>();
  /** OAuth client ids of runners GitHub no longer has: their sessions and polls get 404. */
  private readonly removedClients = new Set<string>();
  private readonly exitWithoutJob = new Set<string>();
  /** Name patterns of runners still to be sent away without a job, each for so many runners. */
  private readonly exitWithoutJobPatterns: Array<{ pattern: RegExp; remaining: number }> = [];
  private readonly jobs = new Map<number, FakeWorkflowJob>();
  private readonly waitingPolls = new Set<WaitingPoll>();
  private readonly sent: FakeGitHubDelivery[] = [];
  private readonly suppressions = new Map<WorkflowJobAction, number>();
  private readonly webhookAbort = new AbortController();
  private webhookTarget: { url: string; secret: string } | undefined;
  private webhookChain: Promise<void> = Promise.resolve();
  private deprecated: boolean;
  private readonly faults: PendingFault[] = [];
  private readonly sockets = new Set<Socket>();
  private readonly routes: Route[];
  private readonly serviceRoutes: Route[];
  private readonly appKey: KeyObject | undefined;
  private readonly apiPrefix: string;
  private nextRunnerId = 1;
  private nextJobId = 20_000_000_001;
  private nextRunId = 9_000_000_001;
  private nextMessageId = 1;

  private constructor(
    private readonly server: Server,
    readonly url: string,
    private readonly options: FakeGitHubOptions,
  ) {
    this.appKey = options.app ? createPublicKey(options.app.publicKeyPem) : undefined;
    this.apiPrefix = options.apiPrefix ?? '';
    this.apiUrl = `${url}${this.apiPrefix}`;
    this.servicesUrl = `${url}${SERVICES_PATH}`;
    this.deprecated = options.deprecatedRunners ?? false;
    this.routes = this.defineRoutes();
    this.serviceRoutes = this.defineServiceRoutes();
  }

  static async start(options: FakeGitHubOptions = {}): Promise<FakeGitHub> {
    const server = createServer();
    const host = options.listenHost ?? '127.0.0.1';
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(options.port ?? 0, host, () => resolve());
    });
    const { port } = server.address() as AddressInfo;
    const fake = new FakeGitHub(server, `http://${host.includes(':') ? `[${host}]` : host}:${port}`, options);
    server.on('connection', (socket) => {
      fake.sockets.add(socket);
      socket.once('close', () => fake.sockets.delete(socket));
    });
    server.on('request', (request, response) => fake.receive(request, response));
    return fake;
  }

  /**
   * The web URL of a repository (`owner/repo`) or organisation runner scope on this fake, as `config.sh --url` and
   * myoung34's REPO_URL take it: under the fake's origin, which is what RunnerHub derives from an API URL ending in
   * /api/v3 (GitHub Enterprise Server). With the github.com prefix RunnerHub would say https://github.com/..., which no
   * test can reach: the registration-token path needs apiPrefix '/api/v3'; JIT runners work with both.
   */
  runnerUrl(scope: string): string {
    return `${this.url}/${scope}`;
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

  /**
   * What `config.sh --token` does with a registration token, without a runner: the runner joins the token's scope.
   * (A stand-in running config.sh goes through the runner-registration endpoint instead.)
   */
  configureRunner(registrationToken: string, runner: { name: string; labels: string[] }): FakeGitHubRunner {
    const issued = this.registrationTokens.get(registrationToken);
    if (!issued || issued.expiresAt <= Date.now()) throw new Error('FakeGitHub: unknown or expired registration token');
    if (this.findRunner(issued.scope, runner.name)) {
      throw new Error(`FakeGitHub: a runner named ${runner.name} already exists in ${issued.scope}`);
    }
    const added = this.addRunner(issued.scope, runner.name, runner.labels, 0, 'registration-token');
    return this.runners().find((r) => r.id === added.id)!;
  }

  /**
   * As GitHub does once an ephemeral runner finished its job, or when someone deletes a runner: it leaves the list,
   * and a runner process still polling for jobs with its credentials gets 404 at once (the real listener then deletes
   * its local configuration and exits 0 without running anything).
   */
  removeRunner(name: string): void {
    for (const runner of [...this.runnersById.values()]) {
      if (runner.name === name) this.deleteRunner(runner);
    }
  }

  /**
   * Makes the runner called `name` (now, or once it registers) end without a job: its next message poll finds its
   * registration gone (404), as when a runner is deleted on GitHub while it waits.
   */
  setRunnerExitWithoutJob(name: string): void {
    this.exitWithoutJob.add(name);
    for (const poll of [...this.waitingPolls]) {
      if (poll.runner.name === name) {
        this.deleteRunner(poll.runner);
      }
    }
  }

  /**
   * As setRunnerExitWithoutJob, for the next `count` runners whose names match `pattern` when they poll: for a test
   * that cannot know a runner's name before it registers (RunnerHub adds a random suffix).
   */
  sendAwayNextRunners(pattern: RegExp, count = 1): void {
    this.exitWithoutJobPatterns.push({ pattern, remaining: count });
  }

  /** On: every runner's message poll answers "runner version deprecated" (BrokerErrorKind.RunnerVersionTooOld). */
  setDeprecatedRunners(deprecated: boolean): void {
    this.deprecated = deprecated;
  }

  /** A runner's state beyond what `runners()` lists; undefined when GitHub does not list it. */
  runnerState(name: string): FakeGitHubRunnerState | undefined {
    const runner = [...this.runnersById.values()].find((r) => r.name === name);
    if (!runner) return undefined;
    return {
      ...this.runners().find((r) => r.id === runner.id)!,
      busy: runner.jobId !== undefined,
      ephemeral: runner.ephemeral,
      runnerGroupId: runner.groupId || 1,
      jobId: runner.jobId ?? null,
      version: runner.version ?? null,
    };
  }

  /**
   * Queues a workflow job, as a push to `repository` would, and delivers the `queued` webhook. A runner of the job's
   * scope (a repository runner of that repository, or an organisation runner of its owner) whose labels include every
   * job label (case-insensitive) takes it when it polls; GitHub then sends `in_progress` and, once the runner reported,
   * `completed` with the job's conclusion.
   */
  queueWorkflowJob(job: { repository: string; labels: string[]; steps: string[]; name?: string }): {
    id: number;
    runId: number;
  } {
    if (!/^[^/\s]+\/[^/\s]+$/.test(job.repository)) throw new Error(`FakeGitHub: not owner/repo: ${job.repository}`);
    if (job.labels.length === 0) throw new Error('FakeGitHub: a job needs at least one runs-on label');
    const queued: FakeWorkflowJob = {
      id: this.nextJobId++,
      runId: this.nextRunId++,
      repository: job.repository,
      name: job.name ?? 'build',
      labels: [...job.labels],
      steps: [...job.steps],
      status: 'queued',
      conclusion: null,
      runnerId: null,
      runnerName: null,
      runnerGroupId: null,
      createdAt: new Date(),
      startedAt: null,
      completedAt: null,
      stepResults: [],
    };
    this.jobs.set(queued.id, queued);
    this.deliver('queued', queued);
    this.dispatch();
    return { id: queued.id, runId: queued.runId };
  }

  /** Cancels a job no runner has taken yet: completed, conclusion cancelled, no runner. false when it was taken. */
  cancelWorkflowJob(id: number): boolean {
    const job = this.jobs.get(id);
    if (!job) throw new Error(`FakeGitHub: no job ${id}`);
    if (job.status !== 'queued') return false;
    job.status = 'completed';
    job.conclusion = 'cancelled';
    job.completedAt = new Date();
    this.deliver('completed', job);
    return true;
  }

  workflowJob(id: number): FakeWorkflowJob | undefined {
    const job = this.jobs.get(id);
    return job && copyJob(job);
  }

  workflowJobs(): FakeWorkflowJob[] {
    return [...this.jobs.values()].map(copyJob);
  }

  /** Where `workflow_job` webhooks go from now on, signed with `secret` (X-Hub-Signature-256). */
  sendWebhooksTo(url: string, secret: string): void {
    this.webhookTarget = { url, secret };
  }

  /** Every webhook sent so far, in the order sent, with the receiver's answer. */
  deliveries(): FakeGitHubDelivery[] {
    return [...this.sent];
  }

  /**
   * GitHub sometimes fails to deliver: the next `count` webhooks of `action` are not sent (the job still changes
   * state; REST shows it).
   */
  suppressWebhooks(action: WorkflowJobAction, count = 1): void {
    this.suppressions.set(action, (this.suppressions.get(action) ?? 0) + count);
  }

  /** Resolves once every webhook due so far has been sent and answered (or failed). */
  async webhooksSettled(): Promise<void> {
    await this.webhookChain;
  }

  /** Closes the server and every connection, including those of requests it was told to never answer. */
  async stop(): Promise<void> {
    for (const poll of this.waitingPolls) clearTimeout(poll.timer);
    this.waitingPolls.clear();
    this.webhookAbort.abort();
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    this.server.closeAllConnections();
    for (const socket of this.sockets) socket.destroy();
    await closed;
    await this.webhookChain;
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
    const problemReply = (error: unknown): Reply => {
      // A bug of the fake answers 500 with its message rather than crash the test process.
      const problem =
        error instanceof HttpProblem ? error : new HttpProblem(500, `FakeGitHub failed: ${String(error)}`);
      return { status: problem.status, body: { message: problem.message, ...problem.extra, documentation_url: DOCS } };
    };
    const send = (reply: Reply) => {
      if (response.headersSent || response.destroyed) return;
      const payload = reply.body === undefined ? '' : JSON.stringify(reply.body);
      response.writeHead(reply.status, {
        ...(payload ? { 'content-type': 'application/json; charset=utf-8' } : {}),
        'x-github-request-id': randomUUID().toUpperCase(),
        'x-github-api-version-selected': '2022-11-28',
        ...reply.headers,
      });
      response.end(payload);
    };
    if (fault?.kind === 'fail') {
      send({
        status: fault.status,
        body: { message: fault.message ?? STATUS_CODES[fault.status], documentation_url: DOCS },
      });
      return;
    }
    let reply: Reply | Promise<Reply>;
    try {
      if (unparsable) throw new HttpProblem(400, 'Problems parsing JSON');
      reply = this.route(method, { url: new URL(path, this.url), body, headers, response });
    } catch (error) {
      reply = problemReply(error);
    }
    if (reply instanceof Promise) reply.then(send, (error: unknown) => send(problemReply(error)));
    else send(reply);
  }

  private takeFault(path: string): Fault | undefined {
    const index = this.faults.findIndex((f) => f.remaining > 0 && (!f.pattern || f.pattern.test(path)));
    if (index < 0) return undefined;
    const pending = this.faults[index];
    pending.remaining -= 1;
    if (pending.remaining === 0) this.faults.splice(index, 1);
    return pending.fault;
  }

  private route(method: string, request: ParsedRequest): Reply | Promise<Reply> {
    const { url, headers } = request;
    const version = headers['x-github-api-version'];
    if (version !== undefined && !SUPPORTED_API_VERSIONS.has(version)) {
      throw new HttpProblem(400, `API version ${version} is not supported.`);
    }
    // The runner-facing services: each checks the runner's own credentials.
    if (url.pathname.startsWith(`${SERVICES_PATH}/`)) {
      return this.dispatchRoute(this.serviceRoutes, method, url.pathname.slice(SERVICES_PATH.length), request);
    }
    // REST lives under the API prefix (GitHub Enterprise Server: /api/v3).
    let path = url.pathname;
    if (this.apiPrefix) {
      if (path !== this.apiPrefix && !path.startsWith(`${this.apiPrefix}/`)) throw new HttpProblem(404, 'Not Found');
      path = path.slice(this.apiPrefix.length) || '/';
    }
    if (path === '/actions/runner-registration' && method === 'POST') return this.runnerRegistration(request);
    // Credentials first, as GitHub does: a bad token gets 401 whatever it asked for.
    if (path.startsWith('/app/') || path === '/app') this.requireAppJwt(headers.authorization);
    else this.requireToken(headers.authorization);
    return this.dispatchRoute(this.routes, method, path, request);
  }

  private dispatchRoute(routes: Route[], method: string, path: string, request: ParsedRequest): Reply | Promise<Reply> {
    for (const route of routes) {
      const match = route.pattern.exec(path);
      if (match && route.method === method) {
        return route.handle(match.slice(1).map(decodeURIComponent), request);
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
            const runner = this.runnerIn(scopeOf(p), Number(p[offset]));
            // GitHub refuses to delete a runner that is running a job.
            if (runner.jobId !== undefined) {
              throw new HttpProblem(422, `Bad request - Runner "${runner.name}" is still running a job`);
            }
            this.deleteRunner(runner);
            return { status: 204 };
          },
        },
      );
    }
    routes.push({
      method: 'GET',
      pattern: /^\/repos\/([^/]+)\/([^/]+)\/actions\/jobs\/(\d+)$/,
      handle: ([owner, repo, id]) => {
        const job = this.jobs.get(Number(id));
        if (!job || job.repository.toLowerCase() !== `${owner}/${repo}`.toLowerCase()) {
          throw new HttpProblem(404, 'Not Found');
        }
        return { status: 200, body: this.jobPayload(job.status, job).workflow_job };
      },
    });
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
    // The runner's files in actions/runner's formats (see fake-github-runner-files.ts): its settings point at this
    // fake's runner-facing services, its OAuth clientId is what the fake checks there. JIT runners are ephemeral.
    const encoded = encodeJitConfig({
      '.runner': {
        agentId: runner.id,
        agentName: runner.name,
        poolId: runner.groupId,
        poolName: poolNameOf(runner.groupId),
        ephemeral: true,
        serverUrl: this.servicesUrl,
        workFolder: (workFolder as string | undefined) ?? '_work',
      },
      '.credentials': {
        scheme: 'OAuth',
        data: {
          clientId: runner.clientId,
          authorizationUrl: `${this.url}/_services/vstoken/_apis/oauth2/token`,
          requireFipsCryptography: 'True',
        },
      },
      '.credentials_rsaparams': rsaParametersFile(),
    });
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
    { ephemeral = true, systemLabels = [] as string[] } = {},
  ): RunnerRecord {
    const runner: RunnerRecord = {
      id: this.nextRunnerId++,
      name,
      labels: [...labels],
      scope,
      status: 'offline',
      registeredWith,
      groupId,
      ephemeral,
      clientId: randomUUID(),
      systemLabels: new Set(systemLabels.map((l) => l.toLowerCase())),
    };
    this.runnersById.set(runner.id, runner);
    return runner;
  }

  /** GitHub forgets the runner: its credentials stop working, a poll it has open gets 404 now. */
  private deleteRunner(runner: RunnerRecord): void {
    this.runnersById.delete(runner.id);
    this.removedClients.add(runner.clientId);
    for (const poll of [...this.waitingPolls]) {
      if (poll.runner === runner) this.endPoll(poll, runnerGone());
    }
  }

  private findRunner(scope: string, name: string): RunnerRecord | undefined {
    return [...this.runnersById.values()].find((r) => r.scope === scope && r.name === name);
  }

  private runnerIn(scope: string, id: number): RunnerRecord {
    const runner = this.runnersById.get(id);
    if (!runner || runner.scope !== scope) throw new HttpProblem(404, 'Not Found');
    return runner;
  }

  /** A runner as GitHub's REST API shows one. */
  private runnerJson(runner: RunnerRecord) {
    return {
      id: runner.id,
      name: runner.name,
      os: 'Linux',
      status: runner.status,
      busy: runner.jobId !== undefined,
      ephemeral: runner.ephemeral,
      runner_group_id: runner.groupId || 1,
      labels: runner.labels.map((name, index) => ({
        id: index + 1,
        name,
        type: runner.systemLabels.has(name.toLowerCase()) ? 'read-only' : 'custom',
      })),
    };
  }

  // --- The runner's side: registration, sessions, job messages (see the class comment) ------------------------------

  /**
   * actions/runner ConfigurationManager.GetTenantCredential: `POST https://api.github.com/actions/runner-registration`
   * (github.com) or `POST https://<host>/api/v3/actions/runner-registration` (GitHub Enterprise Server) with
   * `Authorization: RemoteAuth <registration token>` and `{ url, runner_event }`; answers GitHubAuthResult
   * (`url` of the runner services, `token_schema` OAuthAccessToken, `token`). An unknown or expired token gets 404,
   * the answer runners show as "Http response code: NotFound from 'POST .../actions/runner-registration'".
   */
  private runnerRegistration({ headers, body }: ParsedRequest): Reply {
    const token = /^RemoteAuth\s+(\S+)\s*$/i.exec(headers.authorization ?? '')?.[1];
    const issued = token === undefined ? undefined : this.registrationTokens.get(token);
    if (!issued || issued.expiresAt <= Date.now()) throw new HttpProblem(404, 'Not Found');
    if (!isRecord(body) || typeof body.url !== 'string')
      throw new HttpProblem(422, 'Invalid request: url is required.');
    let scope: string;
    try {
      scope = new URL(body.url).pathname.replace(/^\/+|\/+$/g, '');
    } catch {
      throw new HttpProblem(422, `Invalid url: ${body.url}`);
    }
    // The token belongs to one repository or organisation: another one's URL is not found.
    if (scope.toLowerCase() !== issued.scope.toLowerCase()) throw new HttpProblem(404, 'Not Found');
    const tenantToken = randomAlphanumeric(40);
    this.tenantTokens.set(tenantToken, { scope: issued.scope, expiresAt: Date.now() + HOUR_MS });
    return {
      status: 201,
      body: { url: this.servicesUrl, token_schema: 'OAuthAccessToken', token: tenantToken, use_v2_flow: false },
    };
  }

  private defineServiceRoutes(): Route[] {
    const pool = `^${RUNNER_API}/(\\d+)`;
    return [
      { method: 'GET', pattern: new RegExp(`^${RUNNER_API}$`), handle: (_, r) => this.listPools(r) },
      { method: 'GET', pattern: new RegExp(`${pool}/agents$`), handle: (p, r) => this.findAgents(Number(p[0]), r) },
      { method: 'POST', pattern: new RegExp(`${pool}/agents$`), handle: (p, r) => this.addAgent(Number(p[0]), r) },
      {
        method: 'PUT',
        pattern: new RegExp(`${pool}/agents/(\\d+)$`),
        handle: (p, r) => this.replaceAgent(Number(p[0]), Number(p[1]), r),
      },
      {
        method: 'DELETE',
        pattern: new RegExp(`${pool}/agents/(\\d+)$`),
        handle: (p, r) => this.removeAgent(Number(p[1]), r),
      },
      {
        method: 'POST',
        pattern: new RegExp(`${pool}/sessions$`),
        handle: (p, r) => this.createSession(Number(p[0]), r),
      },
      {
        method: 'DELETE',
        pattern: new RegExp(`${pool}/sessions/([^/]+)$`),
        handle: (p, r) => this.deleteSession(p[1], r),
      },
      { method: 'GET', pattern: new RegExp(`${pool}/messages$`), handle: (p, r) => this.pollMessage(Number(p[0]), r) },
      {
        method: 'DELETE',
        pattern: new RegExp(`${pool}/messages/(\\d+)$`),
        handle: (_, r) => {
          this.runnerOf(r.headers);
          return { status: 204 };
        },
      },
      {
        method: 'PATCH',
        pattern: new RegExp(`${pool}/jobrequests/(\\d+)$`),
        handle: (p, r) => this.finishJobRequest(Number(p[1]), r),
      },
    ];
  }

  /** The scope a tenant token (from runner-registration) stands for. */
  private tenantScope(headers: Record<string, string>): string {
    const token = /^Bearer\s+(\S+)\s*$/i.exec(headers.authorization ?? '')?.[1];
    const tenant = token === undefined ? undefined : this.tenantTokens.get(token);
    if (!tenant || tenant.expiresAt <= Date.now()) {
      throw new HttpProblem(401, 'Unauthorized', { typeKey: 'VssUnauthorizedException' });
    }
    return tenant.scope;
  }

  /** The runner whose OAuth clientId is the bearer credential; 404 once GitHub removed it, 401 when unknown. */
  private runnerOf(headers: Record<string, string>): RunnerRecord {
    const clientId = /^Bearer\s+(\S+)\s*$/i.exec(headers.authorization ?? '')?.[1];
    const runner = [...this.runnersById.values()].find((r) => r.clientId === clientId);
    if (runner) return runner;
    if (clientId !== undefined && this.removedClients.has(clientId)) throw runnerGone();
    throw new HttpProblem(401, 'Unauthorized', { typeKey: 'VssUnauthorizedException' });
  }

  private listPools({ headers }: ParsedRequest): Reply {
    this.tenantScope(headers);
    const value = [{ id: 1, name: poolNameOf(1), isHosted: false, isInternal: true }];
    return { status: 200, body: { count: value.length, value } };
  }

  private findAgents(poolId: number, { headers, url }: ParsedRequest): Reply {
    const scope = this.tenantScope(headers);
    const name = url.searchParams.get('agentName');
    const value = [...this.runnersById.values()]
      .filter((r) => r.scope === scope && (r.groupId || 1) === poolId && (name === null || r.name === name))
      .map((r) => this.agentJson(r, false));
    return { status: 200, body: { count: value.length, value } };
  }

  /** TaskAgent as config.sh sends it: name, version, labels [{ name, type: system|user }], ephemeral, ... */
  private agentFrom(body: unknown): { name: string; labels: string[]; system: string[]; ephemeral: boolean } {
    if (!isRecord(body) || typeof body.name !== 'string' || body.name.trim() === '') {
      throw new HttpProblem(400, 'The agent name is required.', { typeKey: 'ArgumentException' });
    }
    const labels = Array.isArray(body.labels) ? body.labels.filter(isRecord) : [];
    const names = labels.map((l) => String(l.name)).filter((n) => n !== '');
    const system = labels.filter((l) => String(l.type).toLowerCase() === 'system').map((l) => String(l.name));
    return { name: body.name, labels: names, system, ephemeral: body.ephemeral === true };
  }

  private addAgent(poolId: number, { headers, body }: ParsedRequest): Reply {
    const scope = this.tenantScope(headers);
    const agent = this.agentFrom(body);
    if (this.findRunner(scope, agent.name)) {
      throw new HttpProblem(409, `A runner exists with the same name ${agent.name}.`, {
        typeKey: 'TaskAgentExistsException',
      });
    }
    const runner = this.addRunner(scope, agent.name, agent.labels, poolId, 'registration-token', {
      ephemeral: agent.ephemeral,
      systemLabels: agent.system,
    });
    return { status: 200, body: this.agentJson(runner, true) };
  }

  /** `config.sh --replace`: the runner keeps its id, gets new credentials (the old ones stop working). */
  private replaceAgent(poolId: number, id: number, { headers, body }: ParsedRequest): Reply {
    const scope = this.tenantScope(headers);
    const runner = this.runnersById.get(id);
    if (!runner || runner.scope !== scope) throw runnerGone();
    const agent = this.agentFrom(body);
    for (const poll of [...this.waitingPolls]) if (poll.runner === runner) this.endPoll(poll, runnerGone());
    this.removedClients.add(runner.clientId);
    Object.assign(runner, {
      name: agent.name,
      labels: agent.labels,
      groupId: poolId,
      ephemeral: agent.ephemeral,
      systemLabels: new Set(agent.system.map((l) => l.toLowerCase())),
      clientId: randomUUID(),
      sessionId: undefined,
      status: 'offline',
    });
    return { status: 200, body: this.agentJson(runner, true) };
  }

  private removeAgent(id: number, { headers }: ParsedRequest): Reply {
    const scope = this.tenantScope(headers);
    const runner = this.runnersById.get(id);
    if (!runner || runner.scope !== scope) throw runnerGone();
    this.deleteRunner(runner);
    return { status: 204 };
  }

  private agentJson(runner: RunnerRecord, withCredentials: boolean) {
    return {
      id: runner.id,
      name: runner.name,
      version: runner.version ?? null,
      osDescription: 'Linux',
      enabled: true,
      status: runner.status,
      provisioningState: 'Provisioned',
      ephemeral: runner.ephemeral,
      maxParallelism: 1,
      labels: runner.labels.map((name, index) => ({
        id: index + 1,
        name,
        type: runner.systemLabels.has(name.toLowerCase()) ? 'system' : 'user',
      })),
      ...(withCredentials
        ? {
            authorization: {
              clientId: runner.clientId,
              authorizationUrl: `${this.url}/_services/vstoken/_apis/oauth2/token`,
            },
          }
        : {}),
    };
  }

  private createSession(poolId: number, { headers, body }: ParsedRequest): Reply {
    const runner = this.runnerOf(headers);
    if ((runner.groupId || 1) !== poolId) throw new HttpProblem(404, `Runner group ${poolId} not found.`);
    // One listener per runner: a second one while the first is polling conflicts (TaskAgentSessionConflictException).
    if ([...this.waitingPolls].some((poll) => poll.runner === runner)) {
      throw new HttpProblem(409, `A session for runner ${runner.name} already exists.`, {
        typeKey: 'TaskAgentSessionConflictException',
      });
    }
    const agent = isRecord(body) && isRecord(body.agent) ? body.agent : {};
    runner.version = typeof agent.version === 'string' ? agent.version : undefined;
    runner.sessionId = randomUUID();
    runner.status = 'online';
    return {
      status: 200,
      body: {
        sessionId: runner.sessionId,
        ownerName: isRecord(body) ? body.ownerName : undefined,
        agent: { id: runner.id, name: runner.name, version: runner.version, osDescription: agent.osDescription },
        encryptionKey: null,
      },
    };
  }

  private deleteSession(sessionId: string, { headers }: ParsedRequest): Reply {
    const runner = this.runnerOf(headers);
    if (runner.sessionId !== sessionId) throw new HttpProblem(404, 'Session not found.');
    runner.sessionId = undefined;
    runner.status = 'offline';
    return { status: 204 };
  }

  /**
   * The long poll for a job: a matching queued job at once, else within longPollMs, else 202 with no message. A runner
   * GitHub removed gets 404 (RunnerNotFound); with deprecated runners on, 403 with the broker's error body
   * `{ errorKind: "RunnerVersionTooOld" }` (actions/runner BrokerHttpClient: AccessDeniedException, ErrorCode 1).
   */
  private pollMessage(poolId: number, { headers, url, response }: ParsedRequest): Reply | Promise<Reply> {
    const runner = this.runnerOf(headers);
    if ((runner.groupId || 1) !== poolId) throw new HttpProblem(404, `Runner group ${poolId} not found.`);
    const sessionId = url.searchParams.get('sessionId') ?? '';
    if (!runner.sessionId || runner.sessionId !== sessionId) {
      throw new HttpProblem(400, 'The session has expired or does not exist.', {
        errorKind: 'RunnerSessionInvalid',
        typeKey: 'TaskAgentSessionExpiredException',
      });
    }
    const sentAway = this.exitWithoutJobPatterns.find((rule) => rule.remaining > 0 && rule.pattern.test(runner.name));
    if (sentAway) {
      sentAway.remaining -= 1;
      this.exitWithoutJob.add(runner.name);
    }
    if (this.exitWithoutJob.has(runner.name)) {
      this.deleteRunner(runner);
      throw runnerGone();
    }
    if (this.deprecated) {
      const version = url.searchParams.get('runnerVersion') ?? runner.version ?? 'unknown';
      const message = `Runner version v${version} is deprecated and cannot receive messages.`;
      throw new HttpProblem(403, message, {
        source: 'FakeGitHub',
        errorKind: 'RunnerVersionTooOld',
        statusCode: 403,
        errorMessage: message,
      });
    }
    return new Promise<Reply>((resolve) => {
      const poll: WaitingPoll = {
        runner,
        sessionId,
        resolve,
        timer: setTimeout(() => this.endPoll(poll, { status: 202 }), this.options.longPollMs ?? 5_000),
      };
      this.waitingPolls.add(poll);
      response.once('close', () => {
        if (this.waitingPolls.delete(poll)) clearTimeout(poll.timer);
      });
      this.dispatch();
    });
  }

  private endPoll(poll: WaitingPoll, outcome: Reply | HttpProblem): void {
    if (!this.waitingPolls.delete(poll)) return;
    clearTimeout(poll.timer);
    poll.resolve(
      outcome instanceof HttpProblem
        ? { status: outcome.status, body: { message: outcome.message, ...outcome.extra, documentation_url: DOCS } }
        : outcome,
    );
  }

  /** Hands queued jobs to waiting runners that may take them (see FakeGitHubOptions.assignment). */
  private dispatch(): void {
    const random = this.options.assignment === 'random';
    const queued = [...this.jobs.values()].filter((job) => job.status === 'queued');
    for (const job of random ? shuffled(queued) : queued) {
      const candidates = [...this.waitingPolls].filter((poll) => this.mayTake(poll.runner, job));
      if (candidates.length === 0) continue;
      const poll = random ? candidates[randomInt(candidates.length)] : candidates[0];
      this.assign(job, poll);
    }
  }

  /** GitHub's routing: the job's repository or its owner's organisation, idle, every runs-on label (any case). */
  private mayTake(runner: RunnerRecord, job: FakeWorkflowJob): boolean {
    if (!this.runnersById.has(runner.id) || runner.jobId !== undefined) return false;
    const repository = job.repository.toLowerCase();
    const scope = runner.scope.toLowerCase();
    if (scope !== repository && scope !== repository.split('/')[0]) return false;
    const labels = new Set(runner.labels.map((l) => l.toLowerCase()));
    return job.labels.every((label) => labels.has(label.toLowerCase()));
  }

  private assign(job: FakeWorkflowJob, poll: WaitingPoll): void {
    const { runner } = poll;
    job.status = 'in_progress';
    job.runnerId = runner.id;
    job.runnerName = runner.name;
    job.runnerGroupId = runner.groupId || 1;
    job.startedAt = new Date();
    runner.jobId = job.id;
    // Simplified AgentJobRequestMessage (actions/runner Pipelines.AgentJobRequestMessage): the steps are plain scripts.
    this.endPoll(poll, {
      status: 200,
      body: {
        messageId: this.nextMessageId++,
        messageType: 'PipelineAgentJobRequest',
        iv: null,
        body: JSON.stringify({
          requestId: job.id,
          jobId: job.id,
          runId: job.runId,
          jobDisplayName: job.name,
          repository: job.repository,
          steps: job.steps.map((script) => ({ script })),
        }),
      },
    });
    this.deliver('in_progress', job);
  }

  /** The runner's result for its job: the job completes, and an ephemeral runner leaves the list, as on GitHub. */
  private finishJobRequest(requestId: number, { headers, body }: ParsedRequest): Reply {
    const runner = this.runnerOf(headers);
    const job = this.jobs.get(requestId);
    if (!job || job.runnerId !== runner.id || job.status !== 'in_progress') {
      throw new HttpProblem(404, `Job request ${requestId} not found.`, { typeKey: 'TaskAgentJobNotFoundException' });
    }
    const result = isRecord(body) && typeof body.result === 'string' ? body.result.toLowerCase() : '';
    const conclusions: Record<string, WorkflowJobConclusion> = {
      succeeded: 'success',
      succeededwithissues: 'success',
      failed: 'failure',
      canceled: 'cancelled',
      cancelled: 'cancelled',
      skipped: 'skipped',
    };
    job.status = 'completed';
    job.conclusion = conclusions[result] ?? 'failure';
    job.completedAt = new Date();
    job.stepResults =
      isRecord(body) && Array.isArray(body.steps)
        ? body.steps.filter(isRecord).map((step) => ({ name: String(step.name), exitCode: Number(step.exitCode) }))
        : [];
    runner.jobId = undefined;
    this.deliver('completed', job);
    if (runner.ephemeral) this.deleteRunner(runner);
    return { status: 200, body: { requestId, result, finishTime: job.completedAt.toISOString() } };
  }

  // --- Webhooks ------------------------------------------------------------------------------------------------------

  /** The `workflow_job` payload (and REST job) for the job as it is now. */
  private jobPayload(action: WorkflowJobAction, job: FakeWorkflowJob) {
    const payload = workflowJobPayload({
      action,
      jobId: job.id,
      runId: job.runId,
      repository: job.repository,
      labels: job.labels,
      runnerName: job.runnerName ?? undefined,
      runnerId: job.runnerId ?? undefined,
      conclusion: job.conclusion ?? undefined,
      jobName: job.name,
    });
    const api = `${this.apiUrl}/repos/${job.repository}`;
    Object.assign(payload.workflow_job, {
      url: `${api}/actions/jobs/${job.id}`,
      run_url: `${api}/actions/runs/${job.runId}`,
      created_at: job.createdAt.toISOString(),
      started_at: (job.startedAt ?? job.createdAt).toISOString(),
      completed_at: job.completedAt?.toISOString() ?? null,
      runner_id: job.runnerId,
      runner_name: job.runnerName,
      runner_group_id: job.runnerGroupId,
      runner_group_name: job.runnerGroupId === null ? null : poolNameOf(job.runnerGroupId),
    });
    return payload;
  }

  /** Sends one webhook (after those before it), records the answer, never retries; suppressed ones are not sent. */
  private deliver(action: WorkflowJobAction, job: FakeWorkflowJob): void {
    const suppressed = this.suppressions.get(action) ?? 0;
    if (suppressed > 0) {
      this.suppressions.set(action, suppressed - 1);
      return;
    }
    const target = this.webhookTarget;
    if (!target) return;
    const payload = this.jobPayload(action, job);
    const delivery = signedDelivery(target.secret, payload);
    const record: FakeGitHubDelivery = {
      deliveryId: delivery.headers['x-github-delivery'],
      event: 'workflow_job',
      action,
      jobId: job.id,
      runnerName: job.runnerName,
      conclusion: job.conclusion,
      status: null,
      sentAt: new Date(),
      payload,
    };
    this.webhookChain = this.webhookChain.then(async () => {
      if (this.webhookAbort.signal.aborted) return;
      record.sentAt = new Date();
      try {
        const response = await fetch(target.url, {
          method: 'POST',
          headers: { ...delivery.headers, 'x-github-hook-id': '1' },
          body: delivery.body,
          signal: AbortSignal.any([this.webhookAbort.signal, AbortSignal.timeout(WEBHOOK_TIMEOUT_MS)]),
        });
        record.status = response.status;
        await response.arrayBuffer().catch(() => undefined);
      } catch (error) {
        record.error = error instanceof Error ? `${error.message}${causeOf(error)}` : String(error);
      }
      this.sent.push(record);
    });
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

/** What GitHub answers for a runner it no longer has (TaskAgentNotFoundException; broker: RunnerNotFound). */
function runnerGone(): HttpProblem {
  return new HttpProblem(404, 'The runner no longer exists.', {
    typeKey: 'TaskAgentNotFoundException',
    errorKind: 'RunnerNotFound',
  });
}

function poolNameOf(groupId: number): string {
  return groupId === 1 ? 'Default' : `Group ${groupId}`;
}

function copyJob(job: FakeWorkflowJob): FakeWorkflowJob {
  return {
    ...job,
    labels: [...job.labels],
    steps: [...job.steps],
    stepResults: job.stepResults.map((step) => ({ ...step })),
  };
}

function shuffled<T>(items: T[]): T[] {
  const copy = [...items];
  for (let i = copy.length - 1; i > 0; i--) {
    const j = randomInt(i + 1);
    [copy[i], copy[j]] = [copy[j], copy[i]];
  }
  return copy;
}

function causeOf(error: Error): string {
  const cause = (error as { cause?: unknown }).cause;
  return cause instanceof Error ? ` (${cause.message})` : '';
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
