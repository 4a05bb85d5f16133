import { randomBytes } from 'node:crypto';
import { INestApplication } from '@nestjs/common';
import { createRunnerHubClient, RunnerHubClient, Schemas } from '../client/client';
import { API_KEYS } from './api-suite';
import { startTestApp } from './app';
import { createTestDatabase, TestDatabase } from './databases';
import { docker, removeLabelled } from './engine-cli';
import { FakeGitHub } from './fake-github';
import { CUSTOM_STANDIN_ENV, TEST_RUNNER_FAILING_IMAGE, TEST_RUNNER_IMAGE, TEST_RUNNER_OOM_IMAGE } from './test-env';
import { JobEventRecord, recordJobEvents, waitForJobState } from './job-watch';

export const GITHUB_TOKEN = 'ghp_orchestration_suite_token_0123456789';
export const WEBHOOK_SECRET = 'orchestration-suite-webhook-secret';

type Job = Schemas['JobDto'];

export interface OrchestrationSuite {
  database: TestDatabase;
  github: FakeGitHub;
  app: INestApplication;
  baseUrl: string;
  operator: RunnerHubClient;
  viewer: RunnerHubClient;
  /** `owner/name` unique to this suite: every runner container it causes carries it as `runnerhub.repository`. */
  repository: string;
  /** Every job event the service published, in order. */
  jobEvents: JobEventRecord[];
  /** Stops the service and starts it again on the same database, as a deployment or a crash-and-restart would. */
  restart(env?: Record<string, string>): Promise<void>;
  waitForJob(id: string, states: string[], timeoutMs?: number): Promise<Job>;
  /** Runner containers of this suite the engine is running right now (the docker CLI's view). */
  liveRunnerContainers(): string[];
  close(): Promise<void>;
}

/**
 * The whole service with orchestration wired to a fake GitHub on loopback and the runner stand-in image, with short
 * dispatch and back-off intervals so that tests wait on seconds, not minutes.
 */
export async function startOrchestrationSuite(
  kind: 'sqlite' | 'postgres',
  name: string,
  env: Record<string, string> = {},
): Promise<OrchestrationSuite> {
  const repository = `octo-org/${name}-${kind}-${randomBytes(3).toString('hex')}`;
  const database = await createTestDatabase(kind);
  const github = await FakeGitHub.start({ token: GITHUB_TOKEN });
  const baseEnv = {
    RUNNERHUB_API_KEYS: `${API_KEYS.admin}:admin,${API_KEYS.operator}:operator,${API_KEYS.viewer}:viewer`,
    GITHUB_API_URL: github.url,
    GITHUB_TOKEN,
    GITHUB_WEBHOOK_SECRET: WEBHOOK_SECRET,
    GITHUB_TIMEOUT_MS: '1000',
    RUNNER_IMAGE: TEST_RUNNER_IMAGE,
    // The stand-ins that fail and run out of memory are named by the jobs that need them.
    RUNNER_IMAGES_ALLOWED: [TEST_RUNNER_IMAGE, TEST_RUNNER_FAILING_IMAGE, TEST_RUNNER_OOM_IMAGE].join(','),
    ...CUSTOM_STANDIN_ENV,
    RUNNER_LABELS: 'self-hosted,linux,x64',
    RUNNER_MEMORY_MB: '64',
    RUNNER_CPU_SHARES: '512',
    MAX_CONCURRENT_CONTAINERS: '5',
    DISPATCH_INTERVAL_MS: '250',
    JOB_RETRY_BACKOFF_MS: '200',
    // Mutations are many in these suites and all from one key.
    RATE_LIMIT_MUTATIONS_PER_MINUTE: '100000',
    ...env,
  };
  const jobEvents: OrchestrationSuite['jobEvents'] = [];
  const suite = {
    database,
    github,
    repository,
    jobEvents,
  } as OrchestrationSuite;

  async function boot(extra: Record<string, string> = {}) {
    const started = await startTestApp(database, { ...baseEnv, ...extra });
    suite.app = started.app;
    suite.baseUrl = started.baseUrl;
    suite.operator = createRunnerHubClient(started.baseUrl, API_KEYS.operator);
    suite.viewer = createRunnerHubClient(started.baseUrl, API_KEYS.viewer);
    recordJobEvents(started.app, jobEvents);
  }

  suite.restart = async (extra) => {
    await suite.app.close();
    await boot(extra);
  };
  suite.waitForJob = (id, states, timeoutMs = 30_000) => waitForJobState(suite.viewer, id, states, timeoutMs);
  suite.liveRunnerContainers = () =>
    docker(['ps', '-q', '--filter', `label=runnerhub.repository=${repository}`])
      .split('\n')
      .filter(Boolean);
  suite.close = async () => {
    try {
      await suite.app?.close();
    } finally {
      removeLabelled(`runnerhub.repository=${repository}`);
      await github.stop();
      await database.drop();
    }
  };

  try {
    await boot();
    return suite;
  } catch (error) {
    await suite.close();
    throw error;
  }
}
