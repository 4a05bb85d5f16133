import { AppConfigModule, DomainError, ErrorCode, loadAppConfig } from '@app/common';
import { LoggerService } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { FakeGitHub, generateAppKeyPair } from '../../../../test/support/fake-github';
import { waitFor } from '../../../../test/support/wait-for';
import { TOKEN_REFRESH_MARGIN_MS } from './github-client.factory';
import { GitHubModule, GitHubRunnerRegistry, RunnerCredentials, RunnerScope } from './index';

const TOKEN = 'ghp_registrySuiteToken0123456789abcdefABCD';
// Long enough for a first call on a busy 2-core machine (300 ms was not, in CI); the hang tests wait this long.
const TIMEOUT_MS = 1000;
const REPO: RunnerScope = { kind: 'repository', owner: 'octo-org', repo: 'app' };
const ORG: RunnerScope = { kind: 'organization', org: 'octo-org' };
const LABELS = ['self-hosted', 'linux', 'x64'];
const APP_ID = 4242;
const INSTALLATION_ID = 777;
const appKeys = generateAppKeyPair();

/** Every line any logger wrote during this file, checked for secrets at the end. */
const logLines: string[] = [];
/** Every secret this file saw: nothing RunnerHub says (errors, logs) may contain any of them. */
const secrets = new Set<string>([TOKEN, appKeys.privateKeyPem]);
/** Every GitHub error this file caught, checked for secrets at the end. */
const caught: DomainError[] = [];

const capture: LoggerService = {
  log: (message: unknown) => logLines.push(String(message)),
  error: (message: unknown) => logLines.push(String(message)),
  warn: (message: unknown) => logLines.push(String(message)),
  debug: (message: unknown) => logLines.push(String(message)),
  verbose: (message: unknown) => logLines.push(String(message)),
};

let fakes: FakeGitHub[] = [];
let nameCounter = 0;

async function startFake(options: Parameters<typeof FakeGitHub.start>[0] = { token: TOKEN }): Promise<FakeGitHub> {
  const fake = await FakeGitHub.start(options);
  fakes.push(fake);
  return fake;
}

async function registryFor(
  env: Record<string, string>,
  { refreshMarginMs }: { refreshMarginMs?: number } = {},
): Promise<GitHubRunnerRegistry> {
  const config = loadAppConfig({ NODE_ENV: 'test', GITHUB_TIMEOUT_MS: String(TIMEOUT_MS), ...env });
  const builder = Test.createTestingModule({ imports: [AppConfigModule.forRoot(config), GitHubModule] });
  if (refreshMarginMs !== undefined) builder.overrideProvider(TOKEN_REFRESH_MARGIN_MS).useValue(refreshMarginMs);
  // Nest's testing module installs its own logger on compile: ours captures every line for the secrets check.
  builder.setLogger(capture);
  const moduleRef = await builder.compile();
  return moduleRef.get(GitHubRunnerRegistry);
}

function tokenEnv(fake: FakeGitHub, token = TOKEN): Record<string, string> {
  return { GITHUB_API_URL: fake.url, GITHUB_TOKEN: token };
}

function appEnv(fake: FakeGitHub, privateKeyPem = appKeys.privateKeyPem): Record<string, string> {
  return {
    GITHUB_API_URL: fake.url,
    GITHUB_APP_ID: String(APP_ID),
    GITHUB_APP_PRIVATE_KEY: privateKeyPem,
    GITHUB_APP_INSTALLATION_ID: String(INSTALLATION_ID),
  };
}

function uniqueName(): string {
  nameCounter += 1;
  return `runnerhub-test-${nameCounter}`;
}

/** Registers and remembers the secret it got, so the final check knows to look for it. */
async function register(registry: GitHubRunnerRegistry, scope: RunnerScope = REPO, name = uniqueName()) {
  const credentials = await registry.register({ scope, name, labels: LABELS });
  secrets.add(credentials.kind === 'jit' ? credentials.encodedJitConfig : credentials.token);
  return { name, credentials };
}

/** The DomainError a call failed with (the test fails if it did not fail, or failed otherwise). */
async function failureOf(call: Promise<unknown>): Promise<DomainError> {
  const error = await call.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(error instanceof DomainError)) throw new Error(`expected a DomainError, got ${String(error)}`);
  caught.push(error);
  return error;
}

function jit(credentials: RunnerCredentials): Extract<RunnerCredentials, { kind: 'jit' }> {
  if (credentials.kind !== 'jit') throw new Error(`expected JIT credentials, got ${credentials.kind}`);
  return credentials;
}

function jwtClaims(authorization: string | undefined): { iss: unknown; iat: number; exp: number } {
  const jwt = /^bearer (.+)$/i.exec(authorization ?? '')?.[1];
  if (!jwt) throw new Error(`not a bearer JWT: ${authorization}`);
  return JSON.parse(Buffer.from(jwt.split('.')[1], 'base64url').toString('utf8')) as {
    iss: unknown;
    iat: number;
    exp: number;
  };
}

afterEach(async () => {
  await Promise.all(fakes.map((fake) => fake.stop()));
  fakes = [];
});

describe('GitHubRunnerRegistry with a token', () => {
  it('registers a repository runner just in time, which GitHub then lists with its labels', async () => {
    const fake = await startFake();
    const registry = await registryFor({ ...tokenEnv(fake), RUNNER_GROUP_ID: '7' });

    const { name, credentials } = await register(registry, REPO);

    const listed = fake.runners().find((runner) => runner.name === name);
    expect(listed).toEqual({
      id: jit(credentials).githubRunnerId,
      name,
      labels: LABELS,
      scope: 'octo-org/app',
      status: 'offline',
      registeredWith: 'jit',
    });
    expect(jit(credentials).encodedJitConfig).toMatch(/^[A-Za-z0-9+/=]{40,}$/);
    const [call] = fake.requestsTo(/generate-jitconfig/);
    expect(call).toMatchObject({
      method: 'POST',
      path: '/repos/octo-org/app/actions/runners/generate-jitconfig',
      body: { name, labels: LABELS, runner_group_id: 7, work_folder: '_work' },
      authorization: `token ${TOKEN}`,
    });
    expect(call.headers['x-github-api-version']).toBe('2022-11-28');
    expect(call.headers['user-agent']).toMatch(/^runnerhub\b/);
  });

  it('registers an organisation runner just in time', async () => {
    const fake = await startFake();
    const registry = await registryFor(tokenEnv(fake));

    const { name, credentials } = await register(registry, ORG);

    expect(fake.runners()).toEqual([
      expect.objectContaining({ id: jit(credentials).githubRunnerId, name, scope: 'octo-org', labels: LABELS }),
    ]);
    expect(fake.requestsTo(/generate-jitconfig/).map((r) => r.path)).toEqual([
      '/orgs/octo-org/actions/runners/generate-jitconfig',
    ]);
  });

  it('deregisters a runner by its id, and answers already-gone once GitHub no longer has it', async () => {
    const fake = await startFake();
    const registry = await registryFor(tokenEnv(fake));
    const { name, credentials } = await register(registry, ORG);
    const githubRunnerId = jit(credentials).githubRunnerId;

    await expect(registry.deregister(ORG, { githubRunnerId, name })).resolves.toBe('removed');
    expect(fake.runners()).toEqual([]);
    expect(fake.requestsTo(/\/actions\/runners\/\d+$/, 'DELETE').map((r) => r.path)).toEqual([
      `/orgs/octo-org/actions/runners/${githubRunnerId}`,
    ]);

    await expect(registry.deregister(ORG, { githubRunnerId, name })).resolves.toBe('already-gone');
  });

  it('answers busy when GitHub refuses to delete a runner it has handed a job, and keeps it registered', async () => {
    const fake = await startFake();
    const registry = await registryFor(tokenEnv(fake));
    const { name, credentials } = await register(registry, REPO);
    // GitHub's answer to deleting a runner that runs a job (the fake's own DELETE route gives it for a busy runner).
    fake.failNext(1, 422, /\/actions\/runners\/\d+$/, `Bad request - Runner "${name}" is still running a job`);

    await expect(registry.deregister(REPO, { githubRunnerId: jit(credentials).githubRunnerId, name })).resolves.toBe(
      'busy',
    );
    expect(fake.runners().map((runner) => runner.name)).toEqual([name]);
  });

  it('deregisters a runner without an id by looking it up by name', async () => {
    const fake = await startFake();
    const registry = await registryFor(tokenEnv(fake));
    const keep = await register(registry, REPO);
    const { name } = await register(registry, REPO);

    await expect(registry.deregister(REPO, { githubRunnerId: null, name })).resolves.toBe('removed');

    expect(fake.runners().map((runner) => runner.name)).toEqual([keep.name]);
    expect(fake.requestsTo(/\/actions\/runners\?/, 'GET')[0].path).toContain(`name=${name}`);
  });

  it('answers already-gone for a runner that removed itself after its job, without asking to delete it', async () => {
    const fake = await startFake();
    const registry = await registryFor(tokenEnv(fake));
    const { name } = await register(registry, REPO);
    fake.removeRunner(name);

    await expect(registry.deregister(REPO, { githubRunnerId: null, name })).resolves.toBe('already-gone');
    expect(fake.requestsTo(/./, 'DELETE')).toEqual([]);
  });

  it('reports bad credentials as GitHubRejected, saying which setting to check', async () => {
    const fake = await startFake();
    const registry = await registryFor(tokenEnv(fake, 'ghp_notTheRightToken0123456789abcdefABCD'));

    const error = await failureOf(register(registry));

    expect(error.code).toBe(ErrorCode.GitHubRejected);
    expect(error.message).toBe(
      'GitHub refused the runner registration for octo-org/app: 401 Bad credentials ' +
        '(check that GITHUB_TOKEN is valid and has not expired)',
    );
    expect(error.details).toMatchObject({ status: 401, scope: 'octo-org/app', githubRequestId: expect.any(String) });
    expect(fake.requests).toHaveLength(1);
  });

  it("quotes GitHub's reason when it refuses, and falls back to nothing", async () => {
    const fake = await startFake();
    const registry = await registryFor(tokenEnv(fake));
    fake.failNext(1, 403, /generate-jitconfig/, 'Resource not accessible by integration');

    const error = await failureOf(register(registry));

    expect(error.code).toBe(ErrorCode.GitHubRejected);
    expect(error.message).toBe(
      'GitHub refused the runner registration for octo-org/app: 403 Resource not accessible by integration',
    );
    expect(fake.requestsTo(/registration-token/)).toEqual([]);
  });

  it('refuses a duplicate runner name without falling back to a registration token', async () => {
    const fake = await startFake();
    const registry = await registryFor(tokenEnv(fake));
    const { name } = await register(registry);

    const error = await failureOf(register(registry, REPO, name));

    expect(error.code).toBe(ErrorCode.GitHubRejected);
    expect(error.message).toContain(`409 Already exists - A runner with the name ${name} already exists`);
    expect(fake.requestsTo(/registration-token/)).toEqual([]);
  });

  it('does not take a 404 about something else (an unknown runner group) for a GitHub without JIT', async () => {
    const fake = await startFake();
    const registry = await registryFor(tokenEnv(fake));
    fake.failNext(1, 404, /generate-jitconfig/, 'Runner group not found');

    const error = await failureOf(register(registry));

    expect(error).toMatchObject({
      code: ErrorCode.GitHubRejected,
      message: expect.stringContaining('404 Runner group'),
    });
    expect(fake.requestsTo(/registration-token/)).toEqual([]);
  });

  it('reports a 5xx as GitHubUnavailable, after exactly one request: Octokit does not retry', async () => {
    const fake = await startFake();
    const registry = await registryFor(tokenEnv(fake));
    fake.failNext(1, 500, /generate-jitconfig/);

    const error = await failureOf(register(registry));

    expect(error.code).toBe(ErrorCode.GitHubUnavailable);
    expect(error.message).toBe('GitHub failed the runner registration for octo-org/app: 500 Internal Server Error');
    expect(fake.requests).toHaveLength(1);
  });

  it('reports a rate limit as GitHubUnavailable, a passing condition the job retries can wait out', async () => {
    const fake = await startFake();
    const registry = await registryFor(tokenEnv(fake));
    fake.failNext(1, 429, /generate-jitconfig/, 'You have exceeded a secondary rate limit.');

    const error = await failureOf(register(registry));

    expect(error).toMatchObject({ code: ErrorCode.GitHubUnavailable, message: expect.stringContaining('429') });
  });

  it('gives up on a GitHub that never answers after about GITHUB_TIMEOUT_MS, as GitHubUnavailable', async () => {
    const fake = await startFake();
    const registry = await registryFor(tokenEnv(fake));
    fake.hangNext(1, /generate-jitconfig/);

    const started = Date.now();
    const error = await failureOf(register(registry));
    const elapsed = Date.now() - started;

    expect(error.code).toBe(ErrorCode.GitHubUnavailable);
    expect(error.message).toBe(
      `GitHub did not answer the runner registration for octo-org/app: no answer within ${TIMEOUT_MS} ms`,
    );
    expect(elapsed).toBeGreaterThanOrEqual(TIMEOUT_MS - 20);
    expect(elapsed).toBeLessThan(TIMEOUT_MS + 700);
    expect(fake.requests).toHaveLength(1);
    // The hung request does not hold the next one up.
    await expect(register(registry)).resolves.toMatchObject({ credentials: { kind: 'jit' } });
  });

  it('applies the deadline to removals too', async () => {
    const fake = await startFake();
    const registry = await registryFor(tokenEnv(fake));
    fake.hangNext(1, /actions\/runners\?/);

    const error = await failureOf(registry.deregister(REPO, { githubRunnerId: null, name: 'some-runner' }));

    expect(error).toMatchObject({
      code: ErrorCode.GitHubUnavailable,
      message: `GitHub did not answer the lookup of runner some-runner in octo-org/app: no answer within ${TIMEOUT_MS} ms`,
    });
  });

  it('reports a GitHub that refuses connections as GitHubUnavailable', async () => {
    const gone = await FakeGitHub.start({ token: TOKEN });
    await gone.stop();
    const registry = await registryFor(tokenEnv(gone));

    const error = await failureOf(register(registry));

    expect(error.code).toBe(ErrorCode.GitHubUnavailable);
    expect(error.message).toMatch(/^GitHub did not answer the runner registration for octo-org\/app: .*ECONNREFUSED/);
  });

  it('keeps a token GitHub echoes back out of the message', async () => {
    const fake = await startFake();
    const registry = await registryFor(tokenEnv(fake));
    fake.failNext(
      1,
      403,
      /generate-jitconfig/,
      `Token ${TOKEN} may not do this; nor may ghs_abcdefghijklmnopqrstuvwxyz0123`,
    );

    const error = await failureOf(register(registry));

    expect(error.message).toBe(
      'GitHub refused the runner registration for octo-org/app: 403 Token [REDACTED] may not do this; nor may [REDACTED]',
    );
  });
});

describe('GitHubRunnerRegistry without credentials', () => {
  it('is not configured, and refuses to register or deregister without calling GitHub', async () => {
    const fake = await startFake();
    const registry = await registryFor({ GITHUB_API_URL: fake.url });

    expect(registry.isConfigured()).toBe(false);
    const registering = await failureOf(register(registry));
    const removing = await failureOf(registry.deregister(REPO, { githubRunnerId: 1, name: 'r' }));

    for (const error of [registering, removing]) {
      expect(error.code).toBe(ErrorCode.GitHubNotConfigured);
      expect(error.message).toContain('set GITHUB_TOKEN, or GITHUB_APP_ID');
    }
    expect(fake.requests).toEqual([]);
  });

  it('is configured with a token, or with a GitHub App', async () => {
    const fake = await startFake();
    expect((await registryFor(tokenEnv(fake))).isConfigured()).toBe(true);
    expect((await registryFor(appEnv(fake))).isConfigured()).toBe(true);
  });
});

describe('GitHubRunnerRegistry on a GitHub without just-in-time runners (older GitHub Enterprise Server)', () => {
  it('falls back to a registration token, for a repository and for an organisation', async () => {
    const fake = await startFake({ token: TOKEN, jitSupported: false });
    const registry = await registryFor(tokenEnv(fake));

    const before = Date.now();
    const repo = await register(registry, REPO);
    const org = await register(registry, ORG);

    expect(fake.issuedRegistrationTokens()).toEqual([
      { token: expect.any(String), scope: 'octo-org/app', expiresAt: expect.any(Date) },
      { token: expect.any(String), scope: 'octo-org', expiresAt: expect.any(Date) },
    ]);
    const [repoToken, orgToken] = fake.issuedRegistrationTokens();
    expect(repo.credentials).toEqual({
      kind: 'registration-token',
      token: repoToken.token,
      expiresAt: repoToken.expiresAt,
    });
    expect(org.credentials).toMatchObject({ kind: 'registration-token', token: orgToken.token });
    expect(repoToken.expiresAt.getTime()).toBeGreaterThan(before + 50 * 60_000);
    expect(fake.requests.map((r) => `${r.method} ${r.path}`)).toEqual([
      'POST /repos/octo-org/app/actions/runners/generate-jitconfig',
      'POST /repos/octo-org/app/actions/runners/registration-token',
      'POST /orgs/octo-org/actions/runners/generate-jitconfig',
      'POST /orgs/octo-org/actions/runners/registration-token',
    ]);
    // GitHub lists nothing until the runner itself registers with the token.
    expect(fake.runners()).toEqual([]);
  });

  it('reports a refused registration token as such', async () => {
    const fake = await startFake({ token: TOKEN, jitSupported: false });
    const registry = await registryFor(tokenEnv(fake));
    fake.failNext(1, 403, /registration-token/, 'Must have admin rights to Repository.');

    const error = await failureOf(register(registry));

    expect(error).toMatchObject({
      code: ErrorCode.GitHubRejected,
      message: 'GitHub refused the registration token for octo-org/app: 403 Must have admin rights to Repository.',
    });
  });

  it('finds a token-registered runner by name across pages when GitHub ignores the name filter', async () => {
    const fake = await startFake({ token: TOKEN, jitSupported: false, runnerNameFilterSupported: false });
    const registry = await registryFor(tokenEnv(fake));
    const { credentials } = await register(registry, ORG);
    if (credentials.kind !== 'registration-token') throw new Error('expected a registration token');
    for (let i = 0; i < 150; i++) fake.configureRunner(credentials.token, { name: `pool-${i}`, labels: LABELS });

    await expect(registry.deregister(ORG, { githubRunnerId: null, name: 'pool-142' })).resolves.toBe('removed');

    expect(fake.runners()).toHaveLength(149);
    expect(fake.runners().some((runner) => runner.name === 'pool-142')).toBe(false);
    const lookups = fake.requestsTo(/\/actions\/runners\?/, 'GET').map((r) => new URL(r.path, fake.url).searchParams);
    expect(lookups.map((q) => q.get('page') ?? '1')).toEqual(['1', '2']);
    expect(lookups.every((q) => q.get('name') === 'pool-142' && q.get('per_page') === '100')).toBe(true);

    await expect(registry.deregister(ORG, { githubRunnerId: null, name: 'never-there' })).resolves.toBe('already-gone');
  });
});

describe('GitHubRunnerRegistry as a GitHub App', () => {
  const app = { appId: APP_ID, installationId: INSTALLATION_ID, publicKeyPem: appKeys.publicKeyPem };

  function accessTokenRequests(fake: FakeGitHub) {
    return fake.requestsTo(new RegExp(`^/app/installations/${INSTALLATION_ID}/access_tokens$`), 'POST');
  }

  it('gets an installation token with a valid JWT, uses it, and reuses it while it is fresh', async () => {
    const fake = await startFake({ app });
    const registry = await registryFor(appEnv(fake));

    await register(registry, REPO);
    await register(registry, ORG);
    await registry.deregister(REPO, { githubRunnerId: null, name: 'not-there' });

    expect(fake.issuedInstallationTokens()).toHaveLength(1);
    const [token] = fake.issuedInstallationTokens();
    secrets.add(token);
    const [exchange] = accessTokenRequests(fake);
    expect(accessTokenRequests(fake)).toHaveLength(1);
    const claims = jwtClaims(exchange.authorization);
    const now = Math.floor(exchange.at / 1000);
    expect(claims.iss).toBe(APP_ID);
    expect(claims.iat).toBeLessThanOrEqual(now);
    expect(claims.exp).toBeGreaterThan(now);
    expect(claims.exp - claims.iat).toBeLessThanOrEqual(600);
    const apiCalls = fake.requests.filter((r) => !r.path.startsWith('/app/'));
    expect(apiCalls).toHaveLength(3);
    for (const call of apiCalls) expect(call.authorization).toBe(`token ${token}`);
  });

  it('asks for a new installation token before the old one expires when tokens are short-lived', async () => {
    // Two-minute tokens are inside the five-minute margin from the start, so every call needs a fresh one.
    const fake = await startFake({ app, installationTokenTtlMs: 2 * 60_000 });
    const registry = await registryFor(appEnv(fake));

    await register(registry);
    await register(registry);

    const tokens = fake.issuedInstallationTokens();
    tokens.forEach((token) => secrets.add(token));
    expect(tokens).toHaveLength(2);
    expect(fake.requestsTo(/generate-jitconfig/).map((r) => r.authorization)).toEqual(tokens.map((t) => `token ${t}`));
  });

  it('reuses a token until fewer than the margin remain, then refreshes it while it still works', async () => {
    const ttlMs = 3_000;
    const marginMs = 1_500;
    const fake = await startFake({ app, installationTokenTtlMs: ttlMs });
    const registry = await registryFor(appEnv(fake), { refreshMarginMs: marginMs });

    await register(registry);
    await register(registry);
    expect(fake.issuedInstallationTokens()).toHaveLength(1);
    const issuedAt = accessTokenRequests(fake)[0].at;

    await waitFor(() => Date.now() > issuedAt + ttlMs - marginMs + 50, {
      timeoutMs: ttlMs,
      description: 'the first token to come within the refresh margin of its expiry',
    });
    await register(registry);

    const tokens = fake.issuedInstallationTokens();
    tokens.forEach((token) => secrets.add(token));
    expect(tokens).toHaveLength(2);
    const refresh = accessTokenRequests(fake)[1];
    expect(refresh.at).toBeLessThan(issuedAt + ttlMs);
    expect(fake.requestsTo(/generate-jitconfig/).map((r) => r.authorization)).toEqual([
      `token ${tokens[0]}`,
      `token ${tokens[0]}`,
      `token ${tokens[1]}`,
    ]);
  });

  it('starts over with a new installation token after GitHub refuses the current one', async () => {
    const fake = await startFake({ app });
    const registry = await registryFor(appEnv(fake));
    await register(registry);
    fake.failNext(1, 401, /generate-jitconfig/, 'Bad credentials');

    const error = await failureOf(register(registry));
    await register(registry);

    expect(error).toMatchObject({
      code: ErrorCode.GitHubRejected,
      message: expect.stringContaining(
        '401 Bad credentials (check GITHUB_APP_ID, GITHUB_APP_PRIVATE_KEY and GITHUB_APP_INSTALLATION_ID)',
      ),
    });
    fake.issuedInstallationTokens().forEach((token) => secrets.add(token));
    expect(fake.issuedInstallationTokens()).toHaveLength(2);
  });

  it('reports a JWT GitHub cannot verify (another key) as GitHubRejected for the installation token', async () => {
    const fake = await startFake({ app });
    const otherKey = generateAppKeyPair().privateKeyPem;
    secrets.add(otherKey);
    const registry = await registryFor(appEnv(fake, otherKey));

    const error = await failureOf(register(registry));

    expect(error.code).toBe(ErrorCode.GitHubRejected);
    expect(error.message).toBe(
      `GitHub refused the installation token of GitHub App ${APP_ID} (installation ${INSTALLATION_ID}): ` +
        '401 A JSON web token could not be decoded ' +
        '(check GITHUB_APP_ID, GITHUB_APP_PRIVATE_KEY and GITHUB_APP_INSTALLATION_ID)',
    );
    expect(fake.issuedInstallationTokens()).toEqual([]);
    expect(fake.requestsTo(/generate-jitconfig/)).toEqual([]);
  });

  it('reports a private key that cannot sign as GitHubNotConfigured, without quoting it', async () => {
    const fake = await startFake({ app });
    const broken =
      '-----BEGIN RSA PRIVATE KEY-----\nbm90IGEga2V5IGF0IGFsbCwganVzdCBzb21lIHRleHQ=\n-----END RSA PRIVATE KEY-----';
    secrets.add(broken);
    const registry = await registryFor(appEnv(fake, broken));

    const error = await failureOf(register(registry));

    expect(error.code).toBe(ErrorCode.GitHubNotConfigured);
    expect(error.message).toMatch(/^The GitHub App's private key \(GITHUB_APP_PRIVATE_KEY\) could not sign a JWT/);
    expect(fake.requests).toEqual([]);
  });

  it('gives up on an installation-token exchange that never answers after about GITHUB_TIMEOUT_MS', async () => {
    const fake = await startFake({ app });
    const registry = await registryFor(appEnv(fake));
    fake.hangNext(1, /access_tokens/);

    const started = Date.now();
    const error = await failureOf(register(registry));

    expect(Date.now() - started).toBeLessThan(TIMEOUT_MS + 700);
    expect(error).toMatchObject({
      code: ErrorCode.GitHubUnavailable,
      message: `GitHub did not answer the installation token of GitHub App ${APP_ID} (installation ${INSTALLATION_ID}): no answer within ${TIMEOUT_MS} ms`,
    });
    // A failed exchange is not remembered: the next call gets a token and registers.
    await expect(register(registry)).resolves.toMatchObject({ credentials: { kind: 'jit' } });
    fake.issuedInstallationTokens().forEach((token) => secrets.add(token));
  });
});

// Last in the file, so that it sees what every test above caught and logged (Jest runs a file's tests in order).
describe('secrets', () => {
  it('never reach an error message, error details or a log line: token, JIT configs, private keys', () => {
    const said = [...caught.map((error) => `${error.message} ${JSON.stringify(error.details)}`), ...logLines].join(
      '\n',
    );
    expect(caught.length).toBeGreaterThan(10);
    expect(logLines.some((line) => line.includes('registration token instead'))).toBe(true);
    for (const secret of secrets) {
      expect(said).not.toContain(secret);
      // A PEM key is also checked line by line: its body must not leak in pieces either.
      for (const line of secret.split('\n').filter((l) => l.length > 20)) expect(said).not.toContain(line);
    }
  });
});
