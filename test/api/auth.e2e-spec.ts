import { createHash, randomUUID } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { INestApplication } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { call, documentedOperations, errorOf, keyName, ROLE_KEYS, ROLE_KEYS_SETTING } from '../support/access';
import { startTestApp } from '../support/app';
import { createTestDatabase, TestDatabase, testDatabaseKinds } from '../support/databases';

describe.each(testDatabaseKinds())('API keys and roles on %s', (kind) => {
  let database: TestDatabase;
  let app: INestApplication;
  let baseUrl: string;
  let documented: Set<string>;

  beforeAll(async () => {
    database = await createTestDatabase(kind);
    ({ app, baseUrl } = await startTestApp(database, { RUNNERHUB_API_KEYS: ROLE_KEYS_SETTING }));
    documented = await documentedOperations(baseUrl);
  });

  afterAll(async () => {
    await app?.close();
    await database?.drop();
  });

  it('refuses a call without a key with 401, saying how to send one', async () => {
    const answer = await call(baseUrl, 'GET', '/api/audit');
    expect(answer.status).toBe(401);
    const error = errorOf(answer);
    expect(error.code).toBe('UNAUTHORIZED');
    expect(error.message).toMatch(/needs an API key: send an API key as `Authorization: Bearer <key>`/);
    expect(answer.headers.get('www-authenticate')).toBe('Bearer realm="RunnerHub"');
  });

  it.each([
    ['an unknown key', { authorization: 'Bearer not-a-key-runnerhub-knows-0000' }, /^Unknown API key/],
    ['a key differing in one character', { authorization: `Bearer ${ROLE_KEYS.admin.slice(0, -1)}X` }, /^Unknown/],
    ['another scheme', { authorization: `Basic ${Buffer.from('a:b').toString('base64')}` }, /not a bearer token/],
    ['a bearer without a token', { authorization: 'Bearer ' }, /not a bearer token/],
  ])('refuses %s with 401 and invalid_token', async (_case, headers, message) => {
    const answer = await call(baseUrl, 'GET', '/api/audit', { headers });
    expect(answer.status).toBe(401);
    const error = errorOf(answer);
    expect(error).toMatchObject({ code: 'UNAUTHORIZED', message: expect.stringMatching(message) });
    expect(error.message).toContain('Authorization: Bearer <key>');
    expect(answer.headers.get('www-authenticate')).toBe('Bearer realm="RunnerHub", error="invalid_token"');
  });

  it('accepts the scheme name in any case, as RFC 7235 asks', async () => {
    const answer = await call(baseUrl, 'GET', '/api/audit', {
      headers: { authorization: `bearer ${ROLE_KEYS.admin}` },
    });
    expect(answer.status).toBe(200);
  });

  it('lets a viewer read, and refuses it the audit log (operator) with 403 naming both roles', async () => {
    const list = await call(baseUrl, 'GET', '/api/containers', { key: ROLE_KEYS.viewer });
    // Before the containers API exists this is a route-not-found 404, which never reaches the guard.
    expect(list.status).toBe(documented.has('GET /api/containers') ? 200 : 404);

    const audit = await call(baseUrl, 'GET', '/api/audit', { key: ROLE_KEYS.viewer });
    expect(audit.status).toBe(403);
    const error = errorOf(audit);
    expect(error.code).toBe('FORBIDDEN');
    expect(error.message).toBe(
      `The operator role is needed to call GET /api/audit; this API key (${keyName('viewer')}) has the viewer role`,
    );
    expect((await call(baseUrl, 'GET', '/api/audit', { key: ROLE_KEYS.operator })).status).toBe(200);
  });

  it('refuses a viewer a mutation with 403', async () => {
    if (!documented.has('POST /api/containers/{id}/stop')) {
      console.warn('skipped: POST /api/containers/{id}/stop is not in the OpenAPI document yet');
      return;
    }
    const answer = await call(baseUrl, 'POST', `/api/containers/${randomUUID()}/stop`, { key: ROLE_KEYS.viewer });
    expect(answer.status).toBe(403);
    expect(errorOf(answer).message).toMatch(/The operator role is needed .* has the viewer role$/);
  });

  it('keeps health, the OpenAPI document and Swagger UI open', async () => {
    expect((await fetch(`${baseUrl}/health`)).status).toBe(200);
    expect((await fetch(`${baseUrl}/health/ready`)).status).toBe(200);
    expect((await fetch(`${baseUrl}/api/docs-json`)).status).toBe(200);
    expect((await fetch(`${baseUrl}/api/docs`)).status).toBe(200);
  });

  it('documents listAuditEntries with the bearer scheme and its failures', async () => {
    const document = (await (await fetch(`${baseUrl}/api/docs-json`)).json()) as {
      paths: Record<string, Record<string, { security?: unknown[]; responses: Record<string, unknown> }>>;
    };
    const listAudit = document.paths['/api/audit'].get;
    expect(listAudit).toMatchObject({ operationId: 'listAuditEntries', security: [{ bearer: [] }] });
    expect(Object.keys(listAudit.responses)).toEqual(expect.arrayContaining(['200', '400', '401', '403']));
  });
});

describe.each(testDatabaseKinds())('rate limit of mutating calls on %s', (kind) => {
  const LIMIT = 3;
  let database: TestDatabase;
  let app: INestApplication;
  let baseUrl: string;
  let documented: Set<string>;

  beforeAll(async () => {
    database = await createTestDatabase(kind);
    ({ app, baseUrl } = await startTestApp(database, {
      RUNNERHUB_API_KEYS: ROLE_KEYS_SETTING,
      RATE_LIMIT_MUTATIONS_PER_MINUTE: String(LIMIT),
    }));
    documented = await documentedOperations(baseUrl);
  });

  afterAll(async () => {
    await app?.close();
    await database?.drop();
  });

  it('answers 429 with Retry-After after the configured number of mutations, per key, reads apart', async () => {
    if (!documented.has('POST /api/containers/{id}/stop')) {
      // A route that does not exist is answered before any guard, so it cannot be limited.
      console.warn('skipped: no mutating route in the OpenAPI document yet');
      return;
    }
    const stop = (key: string) => call(baseUrl, 'POST', `/api/containers/${randomUUID()}/stop`, { key });
    for (let i = 0; i < LIMIT; i++) {
      const allowed = await stop(ROLE_KEYS.operator);
      expect(allowed.status).toBe(404);
      expect(allowed.headers.get('x-ratelimit-remaining')).toBe(String(LIMIT - 1 - i));
    }
    const limited = await stop(ROLE_KEYS.operator);
    expect(limited.status).toBe(429);
    expect(errorOf(limited).code).toBe('RATE_LIMITED');
    const retryAfter = Number(limited.headers.get('retry-after'));
    expect(Number.isInteger(retryAfter)).toBe(true);
    expect(retryAfter).toBeGreaterThan(0);
    expect(retryAfter).toBeLessThanOrEqual(60);

    // Another key has a budget of its own; reads count against a budget of their own (RATE_LIMIT_READS_PER_MINUTE).
    expect((await stop(ROLE_KEYS.admin)).status).toBe(404);
    for (let i = 0; i < LIMIT + 2; i++) {
      expect((await call(baseUrl, 'GET', '/api/audit', { key: ROLE_KEYS.operator })).status).toBe(200);
    }
    expect((await stop(ROLE_KEYS.operator)).status).toBe(429);

    // A limited call is still a mutation attempt, and audited as one.
    const audit = await call(baseUrl, 'GET', `/api/audit?actor=${keyName('operator')}&outcome=failure`, {
      key: ROLE_KEYS.operator,
    });
    const rows = (audit.body as { data: Array<{ status: number; errorCode: string }> }).data;
    expect(rows.map((row) => `${row.status} ${row.errorCode}`)).toEqual([
      '429 RATE_LIMITED',
      '429 RATE_LIMITED',
      ...Array.from({ length: LIMIT }, () => '404 NOT_FOUND'),
    ]);
  });
});

describe.each(testDatabaseKinds())('the generated admin key on %s', (kind) => {
  let database: TestDatabase;
  let keyFile: string;
  const started: INestApplication[] = [];

  beforeAll(async () => {
    database = await createTestDatabase(kind);
    keyFile = join(database.env.RUNNERHUB_DATA_DIR, 'admin-api-key');
  });

  afterAll(async () => {
    for (const app of started) await app.close();
    await database?.drop();
  });

  /**
   * Starts the service on this suite's database and returns what it wrote to stdout while starting. Stdout is not a
   * terminal here, as under a service manager, whether or not Jest runs on one.
   */
  async function start(
    env: Record<string, string> = {},
  ): Promise<{ app: INestApplication; baseUrl: string; printed: string[] }> {
    const printed: string[] = [];
    const write = process.stdout.write.bind(process.stdout);
    const tty = Object.getOwnPropertyDescriptor(process.stdout, 'isTTY');
    Object.defineProperty(process.stdout, 'isTTY', { value: false, configurable: true });
    const spy = jest.spyOn(process.stdout, 'write').mockImplementation(((
      chunk: string | Uint8Array,
      ...rest: never[]
    ) => {
      printed.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString());
      return write(chunk, ...rest);
    }) as typeof process.stdout.write);
    try {
      const { app, baseUrl } = await startTestApp(database, env);
      started.push(app);
      return { app, baseUrl, printed };
    } finally {
      spy.mockRestore();
      if (tty) Object.defineProperty(process.stdout, 'isTTY', tty);
      else delete (process.stdout as { isTTY?: boolean }).isTTY;
    }
  }

  it('is written once on first start to a file only its owner reads, stored only as a hash, and works on every later start', async () => {
    const first = await start();
    const key = readFileSync(keyFile, 'utf8').trim();
    expect(key).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(statSync(keyFile).mode & 0o777).toBe(0o600);
    expect(first.printed.join('')).not.toContain(key);
    const hash = createHash('sha256').update(key).digest('hex');
    const name = `admin-${hash.slice(0, 8)}`;

    const rows: Array<Record<string, unknown>> = await first.app.get(DataSource).query('SELECT * FROM api_keys');
    expect(rows).toEqual([{ name, role: 'admin', keyHash: hash, createdAt: expect.anything() }]);
    expect(JSON.stringify(rows)).not.toContain(key);
    expect((await call(first.baseUrl, 'GET', '/api/audit', { key })).status).toBe(200);
    await first.app.close();
    started.pop();

    const second = await start();
    expect(second.printed.join('')).not.toContain(key);
    expect(readFileSync(keyFile, 'utf8').trim()).toBe(key);
    expect((await call(second.baseUrl, 'GET', '/api/audit', { key })).status).toBe(200);
    expect(await second.app.get(DataSource).query('SELECT name FROM api_keys')).toEqual([{ name }]);
    await second.app.close();
    started.pop();

    // Configuration wins: with RUNNERHUB_API_KEYS set, the stored key opens nothing.
    const configured = await start({ RUNNERHUB_API_KEYS: ROLE_KEYS_SETTING });
    expect((await call(configured.baseUrl, 'GET', '/api/audit', { key })).status).toBe(401);
    expect((await call(configured.baseUrl, 'GET', '/api/audit', { key: ROLE_KEYS.admin })).status).toBe(200);
  });
});
