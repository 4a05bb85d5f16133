/**
 * Jobs through the whole service: the start latency of a job (POST /api/jobs sent to its runner container running)
 * for N jobs one after another, beside the raw engine's create + start of the same container in the same run
 * (interleaved, one of each in turn, so drift hits both sides alike); then a burst of N jobs at once under a limit
 * of 10 live runners, beside the raw engine running the same N containers 10 at a time. GitHub is the loopback fake
 * the tests use; the runner is the stand-in image, which "runs a job" for 3 s. JSON out.
 *
 *   npm run bench:jobs          BENCH_JOBS=50 BENCH_DATABASE_URL=postgres://... (default: embedded SQLite)
 */
import 'reflect-metadata';
import { randomBytes } from 'node:crypto';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { AppConfig, JobEvent, JobTransitionPayload, loadAppConfig } from '@app/common';
import { ContainerSpecBuilder } from '@app/lifecycle';
import { Logger } from '@nestjs/common';
import { EventEmitter2 } from '@nestjs/event-emitter';
import Dockerode from 'dockerode';
import { createApp } from '../apps/runnerhub/src/bootstrap';
import { FakeGitHub } from '../test/support/fake-github';
import { benchDatabaseEnv, forEachLimited, latencySummary, rawCreateOptions, report, round } from './support';
import { CUSTOM_STANDIN_ENV } from '../test/support/test-env';

const JOBS = Number(process.env.BENCH_JOBS ?? 50);
const BURST_LIMIT = 10;
const RUNNER_IMAGE = process.env.TEST_RUNNER_IMAGE ?? 'runnerhub-test/runner:1';
const API_KEY = 'bench-operator-key-0123456789';
const TOKEN = 'ghp_bench_token_0123456789';
const BENCH_LABEL = 'app.runnerhub-bench';

async function main() {
  const database = benchDatabaseEnv();
  const github = await FakeGitHub.start({ token: TOKEN });
  const repository = `bench-org/jobs-${randomBytes(3).toString('hex')}`;
  const config = loadAppConfig({
    NODE_ENV: 'production',
    LOG_LEVEL: 'warn',
    RUNNERHUB_API_KEYS: `${API_KEY}:operator`,
    GITHUB_API_URL: github.url,
    GITHUB_TOKEN: TOKEN,
    RUNNER_IMAGE,
    ...CUSTOM_STANDIN_ENV,
    RUNNER_MEMORY_MB: '64',
    MAX_CONCURRENT_CONTAINERS: String(BURST_LIMIT),
    RATE_LIMIT_MUTATIONS_PER_MINUTE: '100000',
    RATE_LIMIT_READS_PER_MINUTE: '1000000',
    ...database.env,
  });
  const app = await createApp(config);
  await app.listen(0, '127.0.0.1');
  const base = `http://127.0.0.1:${((app.getHttpServer() as Server).address() as AddressInfo).port}`;
  const raw = rawClient(config);
  const specs = app.get(ContainerSpecBuilder);

  const reached = new Map<string, { running?: number; finished?: number }>();
  const emitter = app.get(EventEmitter2);
  const mark = (key: 'running' | 'finished') => (payload: JobTransitionPayload) => {
    reached.set(payload.jobId, { ...reached.get(payload.jobId), [key]: performance.now() });
  };
  emitter.on(JobEvent.Running, mark('running'));
  emitter.on(JobEvent.Completed, mark('finished'));
  emitter.on(JobEvent.Failed, mark('finished'));

  const submit = async (): Promise<string> => {
    const response = await fetch(`${base}/api/jobs`, {
      method: 'POST',
      headers: { authorization: `Bearer ${API_KEY}`, 'content-type': 'application/json' },
      body: JSON.stringify({ repository, labels: ['self-hosted'] }),
    });
    if (response.status !== 201)
      throw new Error(`POST /api/jobs answered ${response.status}: ${await response.text()}`);
    return ((await response.json()) as { data: { id: string } }).data.id;
  };
  const until = async (probe: () => boolean, what: string, timeoutMs = 300_000) => {
    const deadline = Date.now() + timeoutMs;
    while (!probe()) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await new Promise((resolve) => setTimeout(resolve, 2));
    }
  };

  let serial = 0;
  const rawCreateStart = async (): Promise<{ ms: number; container: Dockerode.Container }> => {
    const request = {
      image: RUNNER_IMAGE,
      repository,
      type: 'ephemeral',
      env: { RUNNER_NAME: `bench-raw-${++serial}`, RUNNER_JITCONFIG: 'x'.repeat(600), EPHEMERAL: 'true' },
      labels: { [BENCH_LABEL]: 'jobs' },
    };
    const body = await rawCreateOptions(specs, request, config.orchestration.runnerLimits);
    const started = performance.now();
    const container = await raw.createContainer(body);
    await container.start();
    return { ms: performance.now() - started, container };
  };

  // Warm-up, one of each, so neither side pays for cold caches in its measured first.
  await (await rawCreateStart()).container.remove({ force: true });
  const warm = await submit();
  await until(() => reached.get(warm)?.finished !== undefined, 'the warm-up job');

  const latency = { service: [] as number[], raw: [] as number[] };
  const rawContainers: Dockerode.Container[] = [];
  for (let i = 0; i < JOBS; i++) {
    const { ms, container } = await rawCreateStart();
    latency.raw.push(ms);
    rawContainers.push(container);
    const sent = performance.now();
    const id = await submit();
    await until(() => reached.get(id)?.running !== undefined, `job ${id} to run`);
    latency.service.push(reached.get(id)!.running! - sent);
  }
  await until(() => [...reached.values()].every((r) => r.finished !== undefined), 'the latency jobs to finish');
  await Promise.all(rawContainers.map((c) => c.remove({ force: true })));

  // The burst: N jobs at once, at most BURST_LIMIT runners live.
  const burstStarted = performance.now();
  const burst = await Promise.all(Array.from({ length: JOBS }, () => submit()));
  await until(() => burst.every((id) => reached.get(id)?.finished !== undefined), 'the burst to finish');
  const burstMs = performance.now() - burstStarted;

  const rawBurstStarted = performance.now();
  await forEachLimited(JOBS, BURST_LIMIT, async () => {
    const { container } = await rawCreateStart();
    await container.wait();
    await container.remove({ force: true });
  });
  const rawBurstMs = performance.now() - rawBurstStarted;

  await app.close();
  await cleanUp(raw, repository);
  await github.stop();
  database.dispose();

  const service = latencySummary(latency.service);
  const rawSummary = latencySummary(latency.raw);
  report('jobs', {
    benchmark: 'jobs',
    description:
      `start latency of ${JOBS} jobs one after another (POST /api/jobs to container running) beside raw create+start; ` +
      `a burst of ${JOBS} jobs under a limit of ${BURST_LIMIT} beside the raw engine running the same containers ` +
      `${BURST_LIMIT} at a time; runner stand-in runs 3 s`,
    database: process.env.BENCH_DATABASE_URL ? 'postgres' : 'sqlite',
    goal: 'p50 overhead under 50 ms over the raw engine',
    at: new Date().toISOString(),
    startLatencyMs: { service, rawCreateStart: rawSummary },
    overheadMs: { p50: round(service.p50 - rawSummary.p50), p95: round(service.p95 - rawSummary.p95) },
    burst: {
      jobs: JOBS,
      limit: BURST_LIMIT,
      serviceMs: round(burstMs),
      rawMs: round(rawBurstMs),
      ratio: round(burstMs / rawBurstMs, 3),
    },
  });
}

function rawClient(config: AppConfig): Dockerode {
  return config.docker.kind === 'socket'
    ? new Dockerode({ socketPath: config.docker.socketPath, version: 'v1.41' })
    : new Dockerode({ host: config.docker.host, port: config.docker.port, protocol: config.docker.protocol });
}

async function cleanUp(docker: Dockerode, repository: string) {
  for (const label of [`${BENCH_LABEL}=jobs`, `runnerhub.repository=${repository}`]) {
    const leftovers = await docker.listContainers({ all: true, filters: { label: [label] } });
    await Promise.all(leftovers.map((c) => docker.getContainer(c.Id).remove({ force: true })));
  }
}

main().catch((error) => {
  new Logger('bench:jobs').error(error instanceof Error ? error.stack : String(error));
  process.exit(1);
});
