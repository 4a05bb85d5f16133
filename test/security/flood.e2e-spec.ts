import { randomBytes } from 'node:crypto';
import { AuditLogRepository, ContainerStatsRepository, GitHubDeliveryEntity, NewStatsSample } from '@app/persistence';
import { DataSource, In } from 'typeorm';
import { AnonymousRefusals } from '../../apps/runnerhub/src/http/auth/anonymous-refusals.service';
import { Answer, call, errorOf, keyName } from '../support/access';
import { API_KEYS, ApiSuite, startApiSuite } from '../support/api-suite';
import { testDatabaseKinds } from '../support/databases';
import { waitFor } from '../support/wait-for';
import { scrapeMetric } from '../support/metrics-scrape';

const ANONYMOUS_LIMIT = 60;
const FLOOD = 300;
const A_DAY_MS = 86_400_000;

interface AuditEntry {
  actor: string;
  action: string;
  path: string;
  status: number;
  details: Record<string, unknown>;
  requestId: string | null;
}

/**
 * Issue 13, attack 4: an unauthenticated audit flood. Every mutating call, a stranger's 401 and 404 included, wrote
 * an audit row (its path up to 2 KiB) before the response and before any rate limit, and rows were never pruned.
 * Performed against the running service on each database.
 */
describe.each(testDatabaseKinds())('audit flood on %s', (kind) => {
  let suite: ApiSuite;

  beforeAll(async () => {
    suite = await startApiSuite(kind, 'security-flood', {
      RATE_LIMIT_ANONYMOUS_PER_MINUTE: String(ANONYMOUS_LIMIT),
      AUDIT_RETENTION_DAYS: '30',
      DELIVERY_RETENTION_DAYS: '7',
      STATS_RETENTION_MS: String(3_600_000),
      // The retention job every second (and first a second after start), so that a test sees it work.
      RETENTION_INTERVAL_MS: '1000',
    });
  });

  afterAll(async () => {
    await suite?.close();
  });

  async function auditTotal(query = ''): Promise<{ total: number; data: AuditEntry[] }> {
    const answer = await call(suite.baseUrl, 'GET', `/api/audit?limit=500${query}`, { key: API_KEYS.operator });
    expect(answer.status).toBe(200);
    const body = answer.body as { data: AuditEntry[]; page: { total: number } };
    return { total: body.page.total, data: body.data };
  }

  /** One stranger's call: no key, a key RunnerHub does not know, or a path that names no route (2 KiB long). */
  function strangerCall(i: number): Promise<Answer> {
    if (i % 3 === 0) return call(suite.baseUrl, 'POST', '/api/containers', { body: { config: { image: 'x' } } });
    if (i % 3 === 1) {
      const headers = { authorization: `Bearer stolen-looking-key-${randomBytes(8).toString('hex')}` };
      return call(suite.baseUrl, 'DELETE', `/api/containers/${randomBytes(4).toString('hex')}`, { headers });
    }
    return call(suite.baseUrl, 'PUT', `/api/${randomBytes(4).toString('hex')}/${'x'.repeat(2_000)}`, { body: {} });
  }

  it('attack 4: a flood of calls without a valid key writes no row per call and meets 429, while a viewer reads', async () => {
    const before = await auditTotal();

    const flood = Promise.all(Array.from({ length: FLOOD }, (_, i) => strangerCall(i)));
    // A viewer reading while the flood is under way: keys are never counted against the address.
    const read = await suite.viewer.GET('/api/containers', {});
    const answers = await flood;
    expect(read.response.status).toBe(200);

    const limited = answers.filter((answer) => answer.status === 429);
    expect(limited).toHaveLength(FLOOD - ANONYMOUS_LIMIT);
    for (const answer of limited) {
      expect(errorOf(answer).code).toBe('RATE_LIMITED');
      expect(errorOf(answer).message).toMatch(/RATE_LIMIT_ANONYMOUS_PER_MINUTE/);
      expect(Number(answer.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    }
    // The first ones in were refused as before: no key (401) or no such route (404).
    const answered = answers.filter((answer) => answer.status !== 429).map((answer) => answer.status);
    expect(answered.filter((status) => status !== 401 && status !== 404)).toEqual([]);

    // Not one row of their own.
    expect((await auditTotal()).total).toBe(before.total);
    // Counted instead, by reason and status, with no address or path in the labels.
    expect(await scrapeMetric(suite.baseUrl, 'runnerhub_http_refused_total{reason="rate-limited",status="429"}')).toBe(
      FLOOD - ANONYMOUS_LIMIT,
    );

    // And summed up: one row a minute, whatever the flood. (The minute is ended here rather than waited for.)
    await suite.app.get(AnonymousRefusals).flush();
    const after = await auditTotal();
    expect(after.total).toBeLessThanOrEqual(before.total + 1);
    const summary = await auditTotal('&action=auth.anonymous-refused');
    expect(summary.total).toBe(1);
    expect(summary.data[0]).toMatchObject({
      actor: 'anonymous',
      path: '/api',
      details: {
        refused: FLOOD,
        addresses: 1,
        statuses: expect.objectContaining({ '429': FLOOD - ANONYMOUS_LIMIT }),
      },
    });
  });

  it('attack 4: calls with a valid key are still audited one by one, refusals included, the path cut at 512', async () => {
    const longQuery = `?${'q'.repeat(3_000)}`;
    const missing = await call(
      suite.baseUrl,
      'POST',
      `/api/containers/${randomBytes(4).toString('hex')}/stop${longQuery}`,
      {
        key: API_KEYS.operator,
      },
    );
    expect(missing.status).toBe(404);
    const forbidden = await call(suite.baseUrl, 'POST', `/api/containers/${randomBytes(4).toString('hex')}/stop`, {
      key: API_KEYS.viewer,
    });
    expect(forbidden.status).toBe(403);

    const { data } = await auditTotal();
    const rowOf = (answer: Answer) => data.find((row) => row.requestId === answer.headers.get('x-request-id'));
    expect(rowOf(missing)).toMatchObject({ actor: keyName('operator', API_KEYS.operator), status: 404 });
    expect(rowOf(missing)!.path).toHaveLength(512);
    expect(rowOf(forbidden)).toMatchObject({ actor: keyName('viewer', API_KEYS.viewer), status: 403 });
  });

  it('attack 4: audit rows, delivery receipts and samples older than their retention are pruned by the job', async () => {
    const now = Date.now();
    const run = randomBytes(3).toString('hex');
    const audit = suite.app.get(AuditLogRepository);
    const auditRow = (actor: string, ageMs: number) =>
      audit.append({
        at: new Date(now - ageMs),
        actor,
        role: null,
        action: 'retention.test',
        method: 'POST',
        path: '/api/test',
        target: null,
        outcome: 'success',
        status: 200,
        errorCode: null,
        details: {},
        requestId: null,
      });
    for (let i = 0; i < 3; i++) await auditRow(`old-${run}`, 31 * A_DAY_MS);
    for (let i = 0; i < 2; i++) await auditRow(`new-${run}`, 29 * A_DAY_MS);

    const manager = suite.app.get(DataSource).manager;
    const delivery = (deliveryId: string, ageMs: number) => ({
      deliveryId,
      event: 'workflow_job',
      action: 'queued',
      githubJobId: null,
      outcome: 'ignored' as const,
      detail: null,
      receivedAt: new Date(now - ageMs),
    });
    await manager.insert(GitHubDeliveryEntity, [
      delivery(`old-${run}`, 8 * A_DAY_MS),
      delivery(`new-${run}`, 6 * A_DAY_MS),
    ]);

    const sample = (containerId: string, ageMs: number): NewStatsSample => ({
      containerId,
      sampledAt: new Date(now - ageMs),
      cpuPercent: 1,
      memoryUsage: 1,
      memoryLimit: 2,
      networkRx: 0,
      networkTx: 0,
      blockRead: 0,
      blockWrite: 0,
      pids: 1,
    });
    const samples = suite.app.get(ContainerStatsRepository);
    const containerId = `00000000-0000-4000-8000-${run.padStart(12, '0')}`;
    await samples.append([sample(containerId, 2 * 3_600_000), sample(containerId, 1_800_000)]);

    const left = async () => ({
      audit: (await auditTotal(`&actor=old-${run}`)).total,
      deliveries: await manager.countBy(GitHubDeliveryEntity, { deliveryId: In([`old-${run}`]) }),
      samples: (await samples.recent(containerId, 10)).filter((row) => now - row.sampledAt.getTime() > 3_600_000)
        .length,
    });
    await waitFor(
      async () => {
        const counts = await left();
        return counts.audit === 0 && counts.deliveries === 0 && counts.samples === 0;
      },
      { timeoutMs: 10_000, intervalMs: 250, description: 'the retention job to prune the old rows' },
    );

    expect((await auditTotal(`&actor=new-${run}`)).total).toBe(2);
    expect(await manager.countBy(GitHubDeliveryEntity, { deliveryId: `new-${run}` })).toBe(1);
    expect(await samples.recent(containerId, 10)).toHaveLength(1);
  });
});
