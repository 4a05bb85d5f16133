import { execFile } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { promisify } from 'node:util';
import { testDatabaseKinds } from '../support/databases';
import { OrchestrationSuite, startOrchestrationSuite } from '../support/orchestration-suite';
import { waitFor } from '../support/wait-for';

const run = promisify(execFile);
const onPostgres = testDatabaseKinds().includes('postgres');
const DOWN_MS = 5_000;

async function pgReady(): Promise<boolean> {
  return run('pg_isready', ['-q', '-h', '127.0.0.1', '-p', '5432']).then(
    () => true,
    () => false,
  );
}

async function cluster(action: 'stop' | 'start'): Promise<void> {
  const version = readdirSync('/etc/postgresql').sort().pop()!;
  await run('pg_ctlcluster', ['--skip-systemctl-redirect', version, 'main', action], { timeout: 60_000 });
}

// The machine's PostgreSQL itself is stopped and started again; the suites run one at a time, so none else is hurt.
(onPostgres ? describe : describe.skip)('PostgreSQL restarted under load', () => {
  let suite: OrchestrationSuite;

  beforeAll(async () => {
    suite = await startOrchestrationSuite('postgres', 'pgrestart', {
      MAX_CONCURRENT_CONTAINERS: '3',
      // The repairs for news lost while the database was away, at drill speed: a job whose start could not be
      // recorded is taken up again after 5 s, a runner whose exit could not be recorded is found by the health check.
      JOB_ASSIGN_TIMEOUT_MS: '5000',
      HEALTH_INTERVAL_MS: '2000',
    });
  });

  afterAll(async () => {
    if (!(await pgReady())) await cluster('start');
    await suite?.close();
  });

  it('fails requests cleanly while it is down, succeeds after, and loses no accepted job', async () => {
    const accepted: string[] = [];
    const answers = new Map<string, number>();
    let loading = true;
    const load = (async () => {
      while (loading) {
        const submitted = await suite.operator
          .POST('/api/jobs', { body: { repository: suite.repository, labels: ['self-hosted'] } })
          .catch(() => null);
        const key = submitted
          ? `${submitted.response.status} ${submitted.error?.error.code ?? ''}`.trim()
          : 'no answer';
        answers.set(key, (answers.get(key) ?? 0) + 1);
        if (submitted?.data) accepted.push(submitted.data.data.id);
        const listed = await suite.viewer.GET('/api/jobs', { params: { query: { limit: 5 } } }).catch(() => null);
        const listKey = `list ${listed?.response.status ?? 'no answer'}`;
        answers.set(listKey, (answers.get(listKey) ?? 0) + 1);
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
    })();

    await waitFor(() => accepted.length >= 3, { timeoutMs: 20_000, description: 'jobs flowing' });
    await cluster('stop');
    const downSince = Date.now();
    await waitFor(() => Date.now() - downSince >= DOWN_MS, { timeoutMs: DOWN_MS + 5_000, description: 'the outage' });
    await cluster('start');
    await waitFor(pgReady, { timeoutMs: 30_000, description: 'PostgreSQL to answer again' });
    const countAfter = accepted.length;
    await waitFor(() => accepted.length >= countAfter + 3, { timeoutMs: 30_000, description: 'jobs accepted again' });
    loading = false;
    await load;

    // Every answer was a success or a clean 503 naming the database; nothing else, no 500.
    const kinds = [...answers.keys()];
    expect(kinds.filter((key) => !['201', 'list 200', '503 DATABASE_UNAVAILABLE', 'list 503'].includes(key))).toEqual(
      [],
    );
    expect(answers.get('503 DATABASE_UNAVAILABLE') ?? 0).toBeGreaterThan(0);
    for (const id of accepted) {
      const job = await suite.waitForJob(id, ['completed', 'failed', 'cancelled'], 60_000);
      // A job whose first try fell into the outage was retried: it completed all the same.
      expect({ id, state: job.state }).toEqual({ id, state: 'completed' });
    }
  }, 300_000);
});
