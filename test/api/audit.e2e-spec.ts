import { randomBytes, randomUUID } from 'node:crypto';
import { INestApplication } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { AnonymousRefusals } from '../../apps/runnerhub/src/http/auth/anonymous-refusals.service';
import { Answer, call, documentedOperations, errorOf, keyName, ROLE_KEYS, ROLE_KEYS_SETTING } from '../support/access';
import { startTestApp } from '../support/app';
import { createTestDatabase, TestDatabase, testDatabaseKinds } from '../support/databases';
import { removeLabelled } from '../support/engine-cli';
import { TEST_IMAGE, TEST_LABEL } from '../support/test-env';

interface AuditEntry {
  id: number;
  at: string;
  actor: string;
  role: string | null;
  action: string;
  method: string;
  path: string;
  target: string | null;
  outcome: 'success' | 'failure';
  status: number;
  errorCode: string | null;
  details: Record<string, unknown>;
  requestId: string | null;
}
interface AuditPage {
  success: true;
  data: AuditEntry[];
  page: { limit: number; offset: number; total: number };
}

describe.each(testDatabaseKinds())('audit log on %s', (kind) => {
  const run = `audit-${kind}-${randomBytes(3).toString('hex')}`;
  let database: TestDatabase;
  let app: INestApplication;
  let baseUrl: string;
  let documented: Set<string>;
  /** Whether the containers API is there; before it is, its paths are route-not-found 404s (still audited). */
  let withContainers: boolean;

  beforeAll(async () => {
    database = await createTestDatabase(kind);
    ({ app, baseUrl } = await startTestApp(database, { RUNNERHUB_API_KEYS: ROLE_KEYS_SETTING }));
    documented = await documentedOperations(baseUrl);
    withContainers = documented.has('POST /api/containers/{id}/stop');
  });

  afterAll(async () => {
    await app?.close();
    removeLabelled(`${TEST_LABEL}=${run}`);
    await database?.drop();
  });

  async function list(query: Record<string, string | number> = {}, key: string = ROLE_KEYS.operator) {
    const search = new URLSearchParams(
      Object.entries(query).map(([name, value]): [string, string] => [name, String(value)]),
    );
    return call(baseUrl, 'GET', `/api/audit?${search.toString()}`, { key });
  }

  async function entries(query: Record<string, string | number> = {}): Promise<AuditPage> {
    const answer = await list(query);
    expect(answer.status).toBe(200);
    return answer.body as AuditPage;
  }

  /** The row of one call, found by the request id the call was answered with. */
  async function rowOf(answer: Answer): Promise<AuditEntry> {
    const requestId = answer.headers.get('x-request-id');
    const page = await entries({ limit: 500 });
    const row = page.data.find((entry) => entry.requestId === requestId);
    if (!row) throw new Error(`no audit row for request ${requestId}`);
    return row;
  }

  it('writes no row of its own for a refused call without a key: it is counted, and summed up in one row', async () => {
    const before = (await entries()).page.total;
    const answer = await call(baseUrl, 'POST', '/api/containers/does-not-exist/stop');
    expect(answer.status).toBe(withContainers ? 401 : 404);
    expect((await entries()).page.total).toBe(before);

    // The summary is written once a minute; a test does not wait for the minute to end.
    await app.get(AnonymousRefusals).flush();
    const summary = await entries({ action: 'auth.anonymous-refused' });
    expect(summary.page.total).toBe(1);
    expect(summary.data[0]).toEqual({
      id: expect.any(Number),
      at: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/),
      actor: 'anonymous',
      role: null,
      action: 'auth.anonymous-refused',
      method: '*',
      path: '/api',
      target: null,
      outcome: 'failure',
      status: answer.status,
      errorCode: null,
      details: {
        refused: 1,
        addresses: 1,
        statuses: { [String(answer.status)]: 1 },
        since: expect.any(String),
        until: summary.data[0].at,
      },
      requestId: null,
    });
  });

  it("records a key's failed mutation under the key's name and role", async () => {
    const id = randomUUID();
    const answer = await call(baseUrl, 'DELETE', `/api/containers/${id}?force=true`, { key: ROLE_KEYS.operator });
    // Forced removal needs admin: the operator is refused before the id is looked at (or the route is missing).
    expect(answer.status).toBe(withContainers ? 403 : 404);
    expect(await rowOf(answer)).toMatchObject({
      actor: keyName('operator'),
      role: 'operator',
      action: withContainers ? 'container.remove' : `DELETE /api/containers/${id}`,
      method: 'DELETE',
      path: `/api/containers/${id}?force=true`,
      target: withContainers ? id : null,
      outcome: 'failure',
      status: answer.status,
      errorCode: errorOf(answer).code,
    });
  });

  it('records a viewer refused by its role, and a body that is not JSON under the key that sent it', async () => {
    const refused = await call(baseUrl, 'POST', `/api/containers/${randomUUID()}/start`, { key: ROLE_KEYS.viewer });
    expect(refused.status).toBe(withContainers ? 403 : 404);
    expect(await rowOf(refused)).toMatchObject({ actor: keyName('viewer'), status: refused.status });

    const unreadable = await call(baseUrl, 'POST', '/api/containers/does-not-exist/stop', {
      key: ROLE_KEYS.operator,
      body: '{"timeout": 5',
    });
    expect(unreadable.status).toBe(400);
    // The body parser refuses it before any route or guard is reached; the key presented still names the caller.
    expect(await rowOf(unreadable)).toMatchObject({
      actor: keyName('operator'),
      role: 'operator',
      outcome: 'failure',
      status: 400,
      errorCode: 'MALFORMED_REQUEST',
    });
  });

  it('records a successful create and removal, targeted at the container, and never reads as a mutation', async () => {
    if (!withContainers) {
      console.warn('skipped: the containers API is not in the OpenAPI document yet');
      return;
    }
    const created = await call(baseUrl, 'POST', '/api/containers', {
      key: ROLE_KEYS.operator,
      body: {
        jobId: `job-${run}`,
        config: { image: TEST_IMAGE, command: ['sleep', '60'], labels: { [TEST_LABEL]: run } },
        start: false,
      },
    });
    expect(created.status).toBe(201);
    const id = (created.body as { data: { id: string } }).data.id;
    const removed = await call(baseUrl, 'DELETE', `/api/containers/${id}`, { key: ROLE_KEYS.admin });
    expect(removed.status).toBe(200);
    const before = (await entries()).page.total;
    await call(baseUrl, 'GET', `/api/containers/${id}`, { key: ROLE_KEYS.viewer });

    const onTarget = await entries({ target: id });
    expect(onTarget.page.total).toBe(2);
    expect(onTarget.data).toEqual([
      expect.objectContaining({
        actor: keyName('admin'),
        role: 'admin',
        action: 'container.remove',
        outcome: 'success',
        status: 200,
        errorCode: null,
        target: id,
      }),
      expect.objectContaining({
        actor: keyName('operator'),
        action: 'container.create',
        method: 'POST',
        path: '/api/containers',
        outcome: 'success',
        status: 201,
        target: id,
      }),
    ]);
    expect((await entries()).page.total).toBe(before);
    expect((await entries({ target: id, outcome: 'failure' })).page.total).toBe(0);
  });

  it("keeps an exec's command but never its env, even when the call fails", async () => {
    if (!withContainers) {
      console.warn('skipped: the containers API is not in the OpenAPI document yet');
      return;
    }
    const secret = `ghs_${randomBytes(12).toString('hex')}`;
    const answer = await call(baseUrl, 'POST', `/api/containers/${randomUUID()}/exec`, {
      key: ROLE_KEYS.admin,
      body: { command: ['sh', '-c', 'echo hi'], env: [`RUNNER_TOKEN=${secret}`], user: 'nobody' },
    });
    expect(answer.status).toBe(404);
    const row = await rowOf(answer);
    expect(row).toMatchObject({
      action: 'container.exec',
      details: { command: ['sh', '-c', 'echo hi'], user: 'nobody' },
    });
    expect(Object.keys(row.details).sort()).toEqual(['command', 'user']);
    const everything = await list({ limit: 500 });
    expect(JSON.stringify(everything.body)).not.toContain(secret);
  });

  it('lists newest first with filters (actor, action, target, outcome, since, until) and paging', async () => {
    const sinceStart = new Date(Date.now() - 1).toISOString();
    const batch = [
      await call(baseUrl, 'POST', '/api/containers/list-1/stop', { key: ROLE_KEYS.operator }),
      await call(baseUrl, 'POST', '/api/containers/list-2/stop', { key: ROLE_KEYS.admin }),
      await call(baseUrl, 'DELETE', '/api/containers/list-1', { key: ROLE_KEYS.operator }),
      await call(baseUrl, 'POST', '/api/containers/list-1/start', { key: ROLE_KEYS.viewer }),
      await call(baseUrl, 'POST', '/api/containers/list-3/stop', { key: ROLE_KEYS.admin }),
    ];
    const requestIds = (indexes: number[]) => indexes.map((i) => batch[i].headers.get('x-request-id'));
    const ids = (page: AuditPage) => page.data.map((entry) => entry.requestId);

    const all = await entries({ since: sinceStart });
    expect(all.page).toEqual({ limit: 50, offset: 0, total: 5 });
    expect(ids(all)).toEqual(requestIds([4, 3, 2, 1, 0]));

    expect(ids(await entries({ since: sinceStart, actor: keyName('operator') }))).toEqual(requestIds([2, 0]));
    expect(ids(await entries({ since: sinceStart, actor: keyName('admin') }))).toEqual(requestIds([4, 1]));
    expect(ids(await entries({ since: sinceStart, outcome: 'failure' }))).toEqual(requestIds([4, 3, 2, 1, 0]));
    expect((await entries({ since: sinceStart, outcome: 'success' })).page.total).toBe(0);
    const stopAction = withContainers ? 'container.stop' : 'POST /api/containers/list-1/stop';
    expect(ids(await entries({ since: sinceStart, action: stopAction }))).toEqual(
      requestIds(withContainers ? [4, 1, 0] : [0]),
    );
    expect(ids(await entries({ since: sinceStart, target: 'list-1' }))).toEqual(
      withContainers ? requestIds([3, 2, 0]) : [],
    );

    // since is inclusive and until exclusive, to the millisecond.
    const secondAt = all.data[3].at;
    expect(ids(await entries({ since: sinceStart, until: secondAt }))).toEqual(requestIds([0]));
    expect(ids(await entries({ since: secondAt }))).toEqual(requestIds([4, 3, 2, 1]));

    const paged = await entries({ since: sinceStart, limit: 2, offset: 1 });
    expect(paged.page).toEqual({ limit: 2, offset: 1, total: 5 });
    expect(ids(paged)).toEqual(requestIds([3, 2]));
  });

  it.each([
    [{ limit: 0 }, 'limit'],
    [{ limit: 501 }, 'limit'],
    [{ offset: -1 }, 'offset'],
    [{ outcome: 'maybe' }, 'outcome'],
    [{ since: 'yesterday' }, 'since'],
    [{ since: '2025-12-01T10:00:00' }, 'since'],
    [{ until: '2025-02-30' }, 'until'],
    [{ since: '2025-12-02T00:00:00Z', until: '2025-12-01T00:00:00Z' }, 'until'],
    [{ actor: 'a'.repeat(129) }, 'actor'],
    [{ unknown: 'x' }, 'unknown'],
  ])('refuses the query %j with 400 naming %s', async (query, field) => {
    const answer = await list(query);
    expect(answer.status).toBe(400);
    expect(errorOf(answer).code).toBe('VALIDATION_FAILED');
    const problems = (answer.body as { error: { details: { problems: Array<{ field: string }> } } }).error.details
      .problems;
    expect(problems.map((problem) => problem.field)).toContain(field);
  });

  it('is for operators: a viewer gets 403 and a caller without a key 401', async () => {
    expect((await list({}, ROLE_KEYS.viewer)).status).toBe(403);
    expect((await call(baseUrl, 'GET', '/api/audit')).status).toBe(401);
    expect((await list({}, ROLE_KEYS.admin)).status).toBe(200);
  });
});

describe.each(testDatabaseKinds())('an audit write that fails, on %s', (kind) => {
  let database: TestDatabase;
  let app: INestApplication;
  let baseUrl: string;

  beforeAll(async () => {
    database = await createTestDatabase(kind);
    ({ app, baseUrl } = await startTestApp(database, { RUNNERHUB_API_KEYS: ROLE_KEYS_SETTING, LOG_LEVEL: 'fatal' }));
  });

  afterAll(async () => {
    await app?.close();
    await database?.drop();
  });

  it('does not fail the call it records', async () => {
    const before = await call(baseUrl, 'POST', '/api/containers/does-not-exist/stop', { key: ROLE_KEYS.operator });
    await app.get(DataSource).query('DROP TABLE audit_log');
    const after = await call(baseUrl, 'POST', '/api/containers/does-not-exist/stop', { key: ROLE_KEYS.operator });
    expect(after.status).toBe(before.status);
    expect(after.body).toEqual(before.body);
  });
});
