/**
 * The fleet: how dispatch scales with engines and replicas, and what a placement decision costs.
 *
 *  - Dispatch: for k = 1, 2, 3 (k engines, each holding at most SLOTS runners, and k RunnerHub processes on one
 *    PostgreSQL), a burst of JOBS_PER_ENGINE * k API jobs sent round robin to the replicas, timed from the first POST
 *    until every job has reached RUNNING (jobs/s to running) and until every job has finished. Beside it, in the same
 *    run, the raw engines running the same containers SLOTS at a time on each engine (create, start, wait, remove):
 *    the ratio says what RunnerHub adds; the jobs/s column says how it scales. The runner is the stand-in image that
 *    "runs a job" for STANDIN_JOB_SECONDS; engines 2 and 3 are dockerds of the bench's own (test/support/SecondEngine).
 *  - Placement: the claim of one job (count every engine's load, choose, claim, one transaction under the slot lock)
 *    timed on PostgreSQL with 1,000 queued jobs and 3 engines, p50 and p99; and the pure choice alone over 100 engines.
 *
 *   npm run bench:fleet       BENCH_DATABASE_URL=postgres://... (default: the local postgres://postgres@127.0.0.1:5432/postgres)
 */
import 'reflect-metadata';
import { randomBytes, randomUUID } from 'node:crypto';
import { AppConfigModule, loadAppConfig } from '@app/common';
import {
  chooseEngine,
  EngineLoad,
  EngineRepository,
  JobRepository,
  PersistenceModule,
  PlacementEngine,
} from '@app/persistence';
import { Logger } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import Dockerode from 'dockerode';
import { Client } from 'pg';
import { SecondEngine } from '../test/support/docker-second-engine';
import { FakeGitHub } from '../test/support/fake-github';
import { CUSTOM_STANDIN_ENV } from '../test/support/test-env';
import { forEachLimited, latencySummary, percentile, report, round, startServiceProcess } from './support';

const SLOTS = 4;
const JOBS_PER_ENGINE = Number(process.env.BENCH_FLEET_JOBS_PER_ENGINE ?? 12);
/** The stand-in image's own job length (its STANDIN_JOB_SECONDS), given to the raw side too. */
const STANDIN_JOB_SECONDS = 3;
const RUNNER_IMAGE = process.env.TEST_RUNNER_IMAGE ?? 'runnerhub-test/runner:1';
const API_KEY = 'bench-fleet-operator-key-0123456789';
const TOKEN = 'ghp_bench_fleet_token_0123456789';
const BENCH_LABEL = 'app.runnerhub-bench';
const ADMIN_URL = process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const MAIN_SOCKET = '/var/run/docker.sock';

interface Engine {
  name: string;
  host: string;
  docker: Dockerode;
}

async function main() {
  const extra = [await SecondEngine.create(), await SecondEngine.create()];
  const github = await FakeGitHub.start({ token: TOKEN });
  try {
    await Promise.all(extra.map((engine) => loadInto(engine)));
    const engines: Engine[] = [
      {
        name: 'a',
        host: `unix://${MAIN_SOCKET}`,
        docker: new Dockerode({ socketPath: MAIN_SOCKET, version: 'v1.41' }),
      },
      ...extra.map((engine, i) => ({
        name: String.fromCharCode(98 + i),
        host: engine.dockerHost,
        docker: new Dockerode({ socketPath: engine.socketPath, version: 'v1.41' }),
      })),
    ];
    const dispatch: DispatchRound[] = [];
    for (const k of [1, 2, 3]) dispatch.push(await dispatchRound(engines.slice(0, k), github));
    const placement = await placementDecisions();
    report('fleet', {
      benchmark: 'fleet',
      description:
        `for k = 1, 2, 3 engines and as many replicas on one PostgreSQL: ${JOBS_PER_ENGINE} API jobs per engine at ` +
        `once, round robin over the replicas, at most ${SLOTS} runners per engine, each runner ${STANDIN_JOB_SECONDS} s; ` +
        'beside the raw engines running the same containers as many at a time; and the claim of one job with its ' +
        'placement (1,000 queued, 3 engines, PostgreSQL), and the pure choice over 100 engines',
      database: 'postgres',
      at: new Date().toISOString(),
      dispatch,
      placement,
      scaling: dispatch.map((step) => ({
        engines: step.engines,
        jobsPerSecondToRunning: step.service.jobsPerSecondToRunning,
        speedupOverOne: round(step.service.jobsPerSecondToRunning / dispatch[0].service.jobsPerSecondToRunning, 2),
      })),
    });
  } finally {
    await github.stop();
    for (const engine of extra) await engine.cleanup();
  }
}

/** The stand-in image into an engine of the bench's own (the main engine has it from scripts/build-test-images.sh). */
async function loadInto(engine: SecondEngine): Promise<void> {
  const { spawn } = await import('node:child_process');
  const save = spawn('docker', ['save', RUNNER_IMAGE], { stdio: ['ignore', 'pipe', 'inherit'] });
  const load = spawn('docker', ['-H', engine.dockerHost, 'load'], { stdio: ['pipe', 'ignore', 'inherit'] });
  save.stdout.pipe(load.stdin);
  await new Promise((resolve) => load.once('close', resolve));
}

type DispatchRound = Awaited<ReturnType<typeof dispatchRound>>;

async function dispatchRound(engines: Engine[], github: FakeGitHub) {
  const k = engines.length;
  const jobs = JOBS_PER_ENGINE * k;
  const database = await createDatabase();
  const repository = `bench-org/fleet-${k}-${randomBytes(3).toString('hex')}`;
  const env = {
    NODE_ENV: 'production',
    // startServiceProcess reads the port from the start-up log line, an info one; PORT 0 lets replicas sit side by side.
    LOG_LEVEL: 'info',
    PORT: '0',
    DATABASE_URL: database.url,
    RUNNERHUB_DATA_DIR: `/tmp/runnerhub-bench-fleet-${k}`,
    RUNNER_IMAGE_PREPULL: 'false',
    RUNNERHUB_API_KEYS: `${API_KEY}:operator`,
    GITHUB_API_URL: github.url,
    GITHUB_TOKEN: TOKEN,
    RUNNER_IMAGE,
    ...CUSTOM_STANDIN_ENV,
    RUNNER_MEMORY_MB: '64',
    DOCKER_ENGINES: JSON.stringify(
      engines.map((engine) => ({
        name: engine.name,
        host: engine.host,
        maxContainers: SLOTS,
        ...(engine.name === 'a' ? {} : { network: 'none' }),
      })),
    ),
    MAX_CONCURRENT_CONTAINERS: String(SLOTS * k),
    DISPATCH_INTERVAL_MS: '250',
    CLEANUP_INTERVAL_MS: '1000',
    CLEANUP_COMPLETED_GRACE_MS: '0',
    RATE_LIMIT_MUTATIONS_PER_MINUTE: '100000',
    RATE_LIMIT_READS_PER_MINUTE: '1000000',
    LEADERSHIP_RETRY_MS: '500',
  };
  const replicas: Array<Awaited<ReturnType<typeof startServiceProcess>>> = [];
  for (let i = 0; i < k; i++) replicas.push(await startServiceProcess(env));
  try {
    const base = (i: number) => `http://127.0.0.1:${replicas[i % k].port}`;
    const started = performance.now();
    const ids = await Promise.all(
      Array.from({ length: jobs }, async (_, i) => {
        const response = await fetch(`${base(i)}/api/jobs`, {
          method: 'POST',
          headers: { authorization: `Bearer ${API_KEY}`, 'content-type': 'application/json' },
          body: JSON.stringify({ repository, labels: ['self-hosted'] }),
        });
        if (response.status !== 201) throw new Error(`POST /api/jobs: ${response.status} ${await response.text()}`);
        return ((await response.json()) as { data: { id: string } }).data.id;
      }),
    );
    let allRunningMs: number | null = null;
    const reachedRunning = new Set<string>();
    for (;;) {
      const response = await fetch(`${base(0)}/api/jobs?repository=${repository}&limit=500`, {
        headers: { authorization: `Bearer ${API_KEY}` },
      });
      const { data } = (await response.json()) as {
        data: Array<{ id: string; state: string; startedAt: string | null }>;
      };
      for (const job of data) if (job.startedAt) reachedRunning.add(job.id);
      if (allRunningMs === null && ids.every((id) => reachedRunning.has(id)))
        allRunningMs = performance.now() - started;
      const failed = data.filter((job) => job.state === 'failed' || job.state === 'cancelled');
      if (failed.length > 0) throw new Error(`${failed.length} bench jobs failed`);
      if (data.length === jobs && data.every((job) => job.state === 'completed')) break;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    const serviceMs = performance.now() - started;
    const rawMs = await rawRound(engines, JOBS_PER_ENGINE);
    return {
      engines: k,
      replicas: k,
      jobs,
      service: {
        allRunningMs: round(allRunningMs!),
        allFinishedMs: round(serviceMs),
        jobsPerSecondToRunning: round(jobs / (allRunningMs! / 1000), 2),
      },
      raw: { allFinishedMs: round(rawMs) },
      ratio: round(serviceMs / rawMs, 3),
    };
  } finally {
    await Promise.all(replicas.map((replica) => replica.stop()));
    for (const engine of engines) await removeLabelled(engine.docker, `runnerhub.repository=${repository}`);
    await database.drop();
  }
}

/** The raw engines running the same containers, SLOTS at a time on each, all engines at once. */
async function rawRound(engines: Engine[], perEngine: number): Promise<number> {
  const started = performance.now();
  await Promise.all(
    engines.map((engine) =>
      forEachLimited(perEngine, SLOTS, async (i) => {
        const container = await engine.docker.createContainer({
          Image: RUNNER_IMAGE,
          name: `bench-fleet-raw-${engine.name}-${i}-${randomBytes(3).toString('hex')}`,
          Env: [`RUNNER_NAME=raw-${i}`, 'RUNNER_JITCONFIG=x', `STANDIN_JOB_SECONDS=${STANDIN_JOB_SECONDS}`],
          Labels: { [BENCH_LABEL]: 'fleet' },
          HostConfig: { Memory: 64 * 1024 * 1024, NetworkMode: engine.name === 'a' ? 'bridge' : 'none', Init: true },
        });
        await container.start();
        await container.wait();
        await container.remove({ force: true });
      }),
    ),
  );
  return performance.now() - started;
}

/** One claim with its placement, on PostgreSQL with 3 engines and 1,000 queued jobs; and the pure choice. */
async function placementDecisions() {
  const database = await createDatabase();
  const moduleRef = await Test.createTestingModule({
    imports: [AppConfigModule.forRoot(loadAppConfig({ DATABASE_URL: database.url })), PersistenceModule],
  }).compile();
  await moduleRef.init();
  try {
    const engines = moduleRef.get(EngineRepository);
    for (const name of ['a', 'b', 'c']) {
      await engines.insert(
        {
          name,
          endpoint: `unix:///run/${name}.sock`,
          tlsCertPath: null,
          labels: name === 'c' ? ['gpu'] : [],
          network: null,
          memoryMb: 65536,
          cpuMillis: null,
          maxContainers: 100_000,
        },
        'api',
      );
    }
    const jobs = moduleRef.get(JobRepository);
    for (let i = 0; i < 1_000; i++) {
      await jobs.enqueue({ id: randomUUID(), repository: `bench/${i % 50}`, labels: ['self-hosted', 'linux'] });
    }
    const placement = { mode: 'spread' as const, need: () => ({ memoryMb: 64, cpuMillis: 1000 }) };
    const claims: number[] = [];
    for (let i = 0; i < 300; i++) {
      const started = performance.now();
      const claimed = await jobs.claimNext(100_000, placement);
      claims.push(performance.now() - started);
      if (!claimed) throw new Error('the queue ran dry');
    }
    const many: PlacementEngine[] = Array.from({ length: 100 }, (_, i) => ({
      name: `e${i}`,
      labels: i % 10 === 0 ? ['gpu'] : [],
      state: 'active',
      memoryMb: 65536,
      cpuMillis: null,
      maxContainers: 50,
      infoMemoryMb: null,
      infoCpuMillis: null,
    }));
    const loads = new Map<string, EngineLoad>(
      many.map((engine, i) => [engine.name, { containers: i % 50, memoryMb: (i % 50) * 64, cpuMillis: 0 }]),
    );
    const choices: number[] = [];
    for (let i = 0; i < 10_000; i++) {
      const started = performance.now();
      chooseEngine(
        many,
        loads,
        { labels: i % 2 ? ['gpu'] : ['linux'], memoryMb: 64, cpuMillis: 1000 },
        i % 2 ? 'pack' : 'spread',
      );
      choices.push(performance.now() - started);
    }
    return {
      claimWithPlacementMs: {
        ...latencySummary(claims),
        p99: round(percentile(claims, 99), 2),
        queued: 1_000,
        engines: 3,
      },
      chooseAmong100EnginesMs: { p50: round(percentile(choices, 50), 4), p99: round(percentile(choices, 99), 4) },
    };
  } finally {
    await moduleRef.close();
    await database.drop();
  }
}

async function createDatabase(): Promise<{ url: string; drop(): Promise<void> }> {
  const name = `runnerhub_bench_${randomBytes(6).toString('hex')}`;
  await withClient((client) => client.query(`CREATE DATABASE ${name}`));
  const url = new URL(ADMIN_URL);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    drop: () =>
      withClient((client) => client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)).then(() => undefined),
  };
}

async function withClient<T>(work: (client: Client) => Promise<T>): Promise<T> {
  const client = new Client({ connectionString: ADMIN_URL });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

async function removeLabelled(docker: Dockerode, label: string): Promise<void> {
  const leftovers = await docker.listContainers({ all: true, filters: { label: [label] } });
  await Promise.all(leftovers.map((c) => docker.getContainer(c.Id).remove({ force: true })));
}

main().catch((error) => {
  new Logger('bench:fleet').error(error instanceof Error ? error.stack : String(error));
  process.exit(1);
});
