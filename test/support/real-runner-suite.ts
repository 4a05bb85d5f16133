import { randomBytes } from 'node:crypto';
import { INestApplication } from '@nestjs/common';
import { EventEmitter2 } from '@nestjs/event-emitter';
import { createRunnerHubClient, RunnerHubClient, Schemas } from '../client/client';
import { API_KEYS } from './api-suite';
import { startTestApp } from './app';
import { createTestDatabase, TestDatabase } from './databases';
import { docker, removeLabelled } from './engine-cli';
import { FakeGitHub } from './fake-github';
import { LocalRegistry, startLocalRegistry } from './local-registry';
import { TEST_LABEL } from './test-env';
import { waitFor } from './wait-for';
import { JobEventRecord, recordJobEvents, waitForJobState } from './job-watch';

/** A queue turned brisk for drills: dispatch, retries and cleanup in fractions of a second, no mutation limit. */
export const BRISK_QUEUE_ENV = {
  DISPATCH_INTERVAL_MS: '250',
  JOB_RETRY_BACKOFF_MS: '200',
  CLEANUP_INTERVAL_MS: '1000',
  CLEANUP_COMPLETED_GRACE_MS: '500',
  CLEANUP_PRESERVE_FAILED: 'false',
  RATE_LIMIT_MUTATIONS_PER_MINUTE: '100000',
};

export const ACTIONS_STANDIN = process.env.TEST_ACTIONS_RUNNER_IMAGE ?? 'runnerhub-test/actions-runner:1';
export const MYOUNG34_STANDIN = process.env.TEST_MYOUNG34_RUNNER_IMAGE ?? 'runnerhub-test/myoung34-runner:1';
export const DIND_IMAGE = process.env.TEST_DIND_IMAGE ?? 'runnerhub-test/dind:1';
const TOKEN = 'ghp_real_runner_suite_token_0123456789ab';
export const REAL_WEBHOOK_SECRET = 'real-runner-suite-webhook-secret';
/** The password the authenticated registry really has; REGISTRY_AUTH is given another, to see a refused pull. */
const REGISTRY_USER = { username: 'robot', password: 'right-horse-battery' };
export const WRONG_REGISTRY_PASSWORD = 'wrong-horse-battery';
/** A registry address where nothing listens (the discard port), for a pull that cannot even connect. */
export const UNREACHABLE_REGISTRY = '127.0.0.1:9';

type Job = Schemas['JobDto'];

export interface RealRunnerSuite {
  database: TestDatabase;
  github: FakeGitHub;
  registry: LocalRegistry;
  /** A registry with basic auth, which RunnerHub is given the wrong password for. */
  lockedRegistry: LocalRegistry;
  /** The actions stand-in in the open registry, tagged as the official image is. */
  actionsImage: string;
  myoung34Image: string;
  lockedImage: string;
  network: string;
  app: INestApplication;
  baseUrl: string;
  operator: RunnerHubClient;
  viewer: RunnerHubClient;
  repository: string;
  jobEvents: JobEventRecord[];
  imageEvents: Array<{ name: string; image: string }>;
  /** Warm pool events and container removals, with when the test process heard them (Date.now()), since the start. */
  poolEvents: Array<{ name: string; payload: Record<string, unknown>; at: number }>;
  restart(env?: Record<string, string>): Promise<void>;
  /** Queues a workflow job on the fake GitHub (which sends the `queued` webhook) and returns RunnerHub's job for it. */
  queue(labels: string[], steps: string[]): Promise<{ githubJobId: number; job: Job }>;
  waitForJob(id: string, states: string[], timeoutMs?: number): Promise<Job>;
  /** Containers of this suite's repository on the engine, running or not (the docker CLI's view). */
  containersOnEngine(): string[];
  close(): Promise<void>;
}

/**
 * The whole service against the real-contract runner stand-ins: a fake GitHub on a Docker network's gateway (so
 * runner containers on that network and RunnerHub on the host both reach it), playing GitHub Enterprise Server so
 * that the registration-token path works too, handing jobs to runners in random order as GitHub does; the stand-ins
 * pulled from a real registry on this machine; the `actions` family, with the `standard` profile for the `sudo`
 * label and `docker` for the `docker` label; and a quick cleanup, so that every runner container goes.
 */
export async function startRealRunnerSuite(
  kind: 'sqlite' | 'postgres',
  name: string,
  env: Record<string, string> = {},
): Promise<RealRunnerSuite> {
  const suffix = randomBytes(3).toString('hex');
  const repository = `octo-org/${name}-${kind}-${suffix}`;
  const network = `rh-${name}-${suffix}`;
  docker(['network', 'create', '--label', `${TEST_LABEL}=${name}`, network]);
  const gateway = docker(['network', 'inspect', network, '-f', '{{(index .IPAM.Config 0).Gateway}}']).trim();
  const suite = { repository, network, jobEvents: [], imageEvents: [], poolEvents: [] } as unknown as RealRunnerSuite;
  const cleanups: Array<() => unknown> = [() => docker(['network', 'rm', network])];
  suite.close = async () => {
    try {
      await suite.app?.close();
    } finally {
      removeLabelled(`runnerhub.repository=${repository}`);
      for (const cleanup of cleanups.reverse()) {
        try {
          await cleanup();
        } catch {
          // Best effort: what one step leaves, the next must still try to remove.
        }
      }
    }
  };
  try {
    suite.database = await createTestDatabase(kind);
    cleanups.push(() => suite.database.drop());
    suite.registry = await startLocalRegistry();
    cleanups.push(() => suite.registry.stop());
    suite.lockedRegistry = await startLocalRegistry({ auth: REGISTRY_USER });
    cleanups.push(() => suite.lockedRegistry.stop());
    suite.actionsImage = await suite.registry.push(ACTIONS_STANDIN, 'actions/actions-runner:2.336.0');
    suite.myoung34Image = await suite.registry.push(MYOUNG34_STANDIN, 'myoung34/github-runner:2.336.0');
    suite.lockedImage = await suite.lockedRegistry.push(ACTIONS_STANDIN, 'private/runner:1');
    // Pulled images go with the suite, by reference: they share their layers with the stand-ins, which stay.
    cleanups.push(() => {
      for (const image of [suite.actionsImage, suite.myoung34Image, suite.lockedImage]) {
        spawnQuiet(['image', 'rm', '-f', image]);
      }
    });
    suite.github = await FakeGitHub.start({
      token: TOKEN,
      listenHost: gateway,
      apiPrefix: '/api/v3',
      assignment: 'random',
      longPollMs: 2000,
    });
    cleanups.push(() => suite.github.stop());
  } catch (error) {
    await suite.close();
    throw error;
  }

  const baseEnv: Record<string, string> = {
    RUNNERHUB_API_KEYS: `${API_KEYS.admin}:admin,${API_KEYS.operator}:operator,${API_KEYS.viewer}:viewer`,
    GITHUB_API_URL: suite.github.apiUrl,
    GITHUB_TOKEN: TOKEN,
    GITHUB_WEBHOOK_SECRET: REAL_WEBHOOK_SECRET,
    GITHUB_TIMEOUT_MS: '3000',
    RUNNER_IMAGE: suite.actionsImage,
    // Jobs name images of both registries, and of one that does not answer, to see their pulls fail.
    RUNNER_IMAGES_ALLOWED: `${suite.registry.host}/*,${suite.lockedRegistry.host}/*,${UNREACHABLE_REGISTRY}/*`,
    RUNNER_IMAGE_FAMILY: 'actions',
    RUNNER_IMAGE_PULL: 'if-not-present',
    REGISTRY_AUTH: `${suite.lockedRegistry.host}=${REGISTRY_USER.username}:${WRONG_REGISTRY_PASSWORD}`,
    RUNNER_NETWORK: network,
    RUNNER_LABELS: 'self-hosted,linux,x64,sudo,docker',
    RUNNER_PROFILES: 'sudo:standard,docker:docker',
    DIND_IMAGE,
    DIND_PRIVILEGED: 'false',
    RUNNER_MEMORY_MB: '1024',
    RUNNER_CPU_SHARES: '512',
    MAX_CONCURRENT_CONTAINERS: '10',
    ...BRISK_QUEUE_ENV,
    ...env,
  };

  async function boot(extra: Record<string, string> = {}) {
    const started = await startTestApp(suite.database, { ...baseEnv, ...extra });
    suite.app = started.app;
    suite.baseUrl = started.baseUrl;
    suite.operator = createRunnerHubClient(started.baseUrl, API_KEYS.operator);
    suite.viewer = createRunnerHubClient(started.baseUrl, API_KEYS.viewer);
    suite.github.sendWebhooksTo(`${started.baseUrl}/api/webhooks/github`, REAL_WEBHOOK_SECRET);
    recordJobEvents(started.app, suite.jobEvents);
    started.app.get(EventEmitter2).onAny((event: string | string[], payload: unknown) => {
      const eventName = String(event);
      if (eventName.startsWith('image:')) {
        suite.imageEvents.push({ name: eventName, image: (payload as { image: string }).image });
      }
      if (eventName.startsWith('pool:') || eventName === 'container:removing') {
        suite.poolEvents.push({ name: eventName, payload: payload as Record<string, unknown>, at: Date.now() });
      }
    });
  }

  suite.restart = async (extra) => {
    await suite.app.close();
    await boot(extra);
  };
  suite.waitForJob = (id, states, timeoutMs = 60_000) => waitForJobState(suite.viewer, id, states, timeoutMs);
  suite.queue = async (labels, steps) => {
    const { id } = suite.github.queueWorkflowJob({ repository, labels, steps });
    const job = await waitFor(
      async () => {
        const { data } = await suite.viewer.GET('/api/jobs', { params: { query: { repository, limit: 500 } } });
        return data?.data.find((candidate) => candidate.githubJobId === String(id)) ?? null;
      },
      // A burst of 20 queues at once: 20 of these polls side by side, so they poll gently and wait longer.
      { timeoutMs: 60_000, intervalMs: 250, description: `GitHub job ${id} to be queued in RunnerHub` },
    );
    return { githubJobId: id, job };
  };
  suite.containersOnEngine = () =>
    docker(['ps', '-aq', '--filter', `label=runnerhub.repository=${repository}`])
      .split('\n')
      .filter(Boolean);

  try {
    await boot();
    return suite;
  } catch (error) {
    await suite.close();
    throw error;
  }
}

function spawnQuiet(args: string[]): void {
  try {
    docker(args);
  } catch {
    // Already gone.
  }
}
