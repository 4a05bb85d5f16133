import { randomBytes } from 'node:crypto';
import { API_KEYS } from '../support/api-suite';
import { expectDatabaseAndEngineAgree } from '../support/consistency';
import { createTestDatabase, TestDatabase, testDatabaseKinds } from '../support/databases';
import { removeLabelled } from '../support/engine-cli';
import { FakeGitHub } from '../support/fake-github';
import { GITHUB_TOKEN } from '../support/orchestration-suite';
import { ServiceProcess } from '../support/service-process';
import { CUSTOM_STANDIN_ENV, TEST_RUNNER_IMAGE } from '../support/test-env';
import { waitFor } from '../support/wait-for';

type Job = { id: string; state: string; attempts: number };

describe.each(testDatabaseKinds())('the service killed with SIGKILL in the middle of a burst, on %s', (kind) => {
  let database: TestDatabase;
  let github: FakeGitHub;
  let service: ServiceProcess;
  const repository = `octo-org/crash-${kind}-${randomBytes(3).toString('hex')}`;

  beforeAll(async () => {
    database = await createTestDatabase(kind);
    github = await FakeGitHub.start({ token: GITHUB_TOKEN });
    service = await ServiceProcess.start({
      ...database.env,
      RUNNERHUB_API_KEYS: `${API_KEYS.operator}:operator`,
      GITHUB_API_URL: github.url,
      GITHUB_TOKEN,
      RUNNER_IMAGE: TEST_RUNNER_IMAGE,
      ...CUSTOM_STANDIN_ENV,
      RUNNER_MEMORY_MB: '64',
      MAX_CONCURRENT_CONTAINERS: '5',
      DISPATCH_INTERVAL_MS: '250',
      // A replica that died holding a job gives it up after this long.
      JOB_ASSIGN_TIMEOUT_MS: '3000',
      RATE_LIMIT_MUTATIONS_PER_MINUTE: '100000',
    });
  }, 90_000);

  afterAll(async () => {
    await service?.stop();
    removeLabelled(`runnerhub.repository=${repository}`);
    await github?.stop();
    await database?.drop();
  });

  async function api<T>(method: string, path: string, body?: unknown): Promise<T> {
    const response = await fetch(`${service.baseUrl}${path}`, {
      method,
      headers: { authorization: `Bearer ${API_KEYS.operator}`, 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return ((await response.json()) as { data: T }).data;
  }

  const jobs = () => api<Job[]>('GET', `/api/jobs?repository=${encodeURIComponent(repository)}&limit=100`);

  it('ends with every job completed and no container leaked', async () => {
    for (let i = 0; i < 20; i++) await api<Job>('POST', '/api/jobs', { repository, labels: ['self-hosted'] });
    await waitFor(async () => (await jobs()).filter((job) => job.state === 'running').length >= 3, {
      timeoutMs: 30_000,
      description: 'a few jobs to be running',
    });

    await service.kill();
    await service.restart();

    const finished = await waitFor(
      async () => {
        const all = await jobs();
        return all.length === 20 && all.every((job) => ['completed', 'failed', 'cancelled'].includes(job.state))
          ? all
          : null;
      },
      { timeoutMs: 150_000, intervalMs: 500, description: 'all 20 jobs to finish after the restart' },
    );
    expect(finished.map((job) => job.state)).toEqual(Array(20).fill('completed'));
    // Every runner has exited by now; what is left is stopped, recorded, and waiting for the cleanup policies.
    await waitFor(() => expectDatabaseAndEngineAgree(service.baseUrl, API_KEYS.operator, repository).then(() => true), {
      timeoutMs: 15_000,
      intervalMs: 500,
      description: 'the database and the engine to agree',
    });
  }, 240_000);
});
