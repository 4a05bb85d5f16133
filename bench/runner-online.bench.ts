/**
 * Real runners through the whole service, beside the raw engine in the same run:
 *  - webhook to runner online, cached image: GitHub (the fake) queues a workflow job and sends `queued`; RunnerHub
 *    takes the webhook, registers a runner just in time, checks the image, creates and starts the container of the
 *    actions-family stand-in; the time ends when the runner opens its session with GitHub (it is online). The raw
 *    side does the same steps by hand, interleaved one for one: generate-jitconfig, create and start the same
 *    container body, until its session opens. Overhead = RunnerHub's p50 minus raw p50.
 *  - a warm pool of 2 idle runners (RUNNER_POOLS, its own repository; the service started again with it after the
 *    rest): webhook to the job started on a runner (GitHub hands it to an idle pool runner), and webhook to RunnerHub's
 *    job ASSIGNED with that runner, beside the cold path (webhook to the job started on the runner made for it, from
 *    the runs above) measured in the same run.
 *  - cold pull of the runner image from a registry on this machine: RunnerHub's ImagePuller (`always`) beside the
 *    engine's own pull of the same reference, each after every local copy of the image was removed.
 * JSON out.
 *
 *   npm run bench:jobs (runs this after jobs.bench.ts)    BENCH_RUNNERS=20 BENCH_PULLS=3
 */
import 'reflect-metadata';
import { randomBytes } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { AppConfig, JobEvent, JobTransitionPayload, loadAppConfig } from '@app/common';
import { RunnerPoolStatus } from '@app/orchestration';
import { EventEmitter2 } from '@nestjs/event-emitter';
import { ImagePuller } from '@app/docker';
import { ContainerSpecBuilder } from '@app/lifecycle';
import { Logger } from '@nestjs/common';
import Dockerode from 'dockerode';
import { createApp } from '../apps/runnerhub/src/bootstrap';
import { FakeGitHub } from '../test/support/fake-github';
import { startLocalRegistry } from '../test/support/local-registry';
import { benchDatabaseEnv, latencySummary, median, rawCreateOptions, report, round } from './support';

const RUNNERS = Number(process.env.BENCH_RUNNERS ?? 20);
const WARM_JOBS = Number(process.env.BENCH_WARM_JOBS ?? 20);
const POOL_SIZE = 2;
const PULLS = Number(process.env.BENCH_PULLS ?? 3);
const STANDIN = process.env.TEST_ACTIONS_RUNNER_IMAGE ?? 'runnerhub-test/actions-runner:1';
const TOKEN = 'ghp_bench_runner_online_0123456789';
const SECRET = 'bench-runner-online-secret';
const API_KEY = 'bench-runner-online-key-0123456789';
const BENCH_LABEL = 'app.runnerhub-bench';

function docker(args: string[]): string {
  return execFileSync('docker', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

async function until<T>(
  probe: () => T | undefined | null | Promise<T | undefined | null>,
  what: string,
  timeoutMs = 120_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined && value !== null) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
}

async function main() {
  const suffix = randomBytes(3).toString('hex');
  const network = `rh-bench-${suffix}`;
  docker(['network', 'create', '--label', `${BENCH_LABEL}=runner-online`, network]);
  const gateway = docker(['network', 'inspect', network, '-f', '{{(index .IPAM.Config 0).Gateway}}']).trim();
  const registry = await startLocalRegistry();
  const database = benchDatabaseEnv();
  const github = await FakeGitHub.start({
    token: TOKEN,
    listenHost: gateway,
    apiPrefix: '/api/v3',
    longPollMs: 30_000,
  });
  const repository = `bench-org/online-${suffix}`;
  const warmRepository = `bench-org/warm-${suffix}`;
  const raw = new Dockerode({ socketPath: '/var/run/docker.sock', version: 'v1.41' });
  const image = await registry.push(STANDIN, 'actions/actions-runner:2.336.0');
  const env = {
    NODE_ENV: 'production',
    LOG_LEVEL: 'warn',
    RUNNERHUB_API_KEYS: `${API_KEY}:operator`,
    GITHUB_API_URL: github.apiUrl,
    GITHUB_TOKEN: TOKEN,
    GITHUB_WEBHOOK_SECRET: SECRET,
    RUNNER_IMAGE: image,
    RUNNER_IMAGE_FAMILY: 'actions',
    RUNNER_NETWORK: network,
    RUNNER_MEMORY_MB: '512',
    MAX_CONCURRENT_CONTAINERS: '10',
    RATE_LIMIT_MUTATIONS_PER_MINUTE: '100000',
    RATE_LIMIT_READS_PER_MINUTE: '1000000',
    CLEANUP_COMPLETED_GRACE_MS: '0',
    CLEANUP_INTERVAL_MS: '2000',
    ...database.env,
  };
  const config = loadAppConfig(env);
  /** The service on a port of its own, GitHub's webhooks pointed at it. */
  const serve = async (settings: AppConfig) => {
    const started = await createApp(settings);
    await started.listen(0, '127.0.0.1');
    const port = ((started.getHttpServer() as Server).address() as AddressInfo).port;
    github.sendWebhooksTo(`http://127.0.0.1:${port}/api/webhooks/github`, SECRET);
    return started;
  };
  const app = await serve(config);
  const specs = app.get(ContainerSpecBuilder);
  const puller = app.get(ImagePuller);

  const sessionsOpened = () => github.requestsTo(/\/sessions$/, 'POST');
  /** Waits for the next session after `count` opened and returns its time. */
  const nextSession = (count: number, what: string) => until(() => sessionsOpened()[count]?.at, what);

  const startedOnRunner = (id: number) =>
    until(() => github.workflowJob(id)?.startedAt?.getTime(), `job ${id} to start`);
  const completed = (id: number) =>
    until(() => (github.workflowJob(id)?.status === 'completed' ? true : null), `job ${id} to complete`);
  const coldStarts: number[] = [];
  const service = async (): Promise<number> => {
    const before = sessionsOpened().length;
    const sent = Date.now();
    const { id } = github.queueWorkflowJob({ repository, labels: ['self-hosted'], steps: ['true'] });
    const online = await nextSession(before, `the runner of job ${id} to come online`);
    coldStarts.push((await startedOnRunner(id)) - sent);
    await completed(id);
    return online - sent;
  };

  let serial = 0;
  const rawRunner = async (): Promise<number> => {
    const before = sessionsOpened().length;
    const name = `bench-raw-${suffix}-${++serial}`;
    const started = Date.now();
    const answer = await fetch(`${github.apiUrl}/repos/${repository}/actions/runners/generate-jitconfig`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ name, labels: ['bench-raw-only'], runner_group_id: 1, work_folder: '_work' }),
    });
    const { encoded_jit_config: jit } = (await answer.json()) as { encoded_jit_config: string };
    await raw.getImage(image).inspect();
    const body = await rawCreateOptions(
      specs,
      {
        image,
        command: ['/home/runner/run.sh'],
        env: { ACTIONS_RUNNER_INPUT_JITCONFIG: jit, ACTIONS_RUNNER_RETURN_VERSION_DEPRECATED_EXIT_CODE: '1' },
        labels: { [BENCH_LABEL]: 'runner-online' },
      },
      { ...config.orchestration.runnerLimits, pidsLimit: config.runners.pidsLimit },
    );
    const container = await raw.createContainer({ ...body, HostConfig: { ...body.HostConfig, NetworkMode: network } });
    await container.start();
    const online = await nextSession(before, `raw runner ${name} to come online`);
    await container.remove({ force: true });
    github.removeRunner(name);
    return online - started;
  };

  // Warm-up: one of each, so neither side pays for cold caches in its measured first.
  await service();
  await rawRunner();
  const online = { service: [] as number[], raw: [] as number[] };
  for (let i = 0; i < RUNNERS; i++) {
    online.raw.push(await rawRunner());
    online.service.push(await service());
  }

  // Cold pulls: every local copy of the image goes first (the stand-in's own tag shares its layers), and comes back.
  const imageId = (await raw.getImage(image).inspect()).Id;
  const dropLocalCopies = async () => {
    await until(
      () => (docker(['ps', '-aq', '--filter', `ancestor=${imageId}`]).trim() === '' ? true : null),
      'runner containers to be removed before a cold pull',
    );
    docker(['image', 'rm', '-f', imageId]);
  };
  const pulls = { service: [] as number[], raw: [] as number[] };
  for (let i = 0; i < PULLS; i++) {
    await dropLocalCopies();
    let started = performance.now();
    const stream = await raw.pull(image);
    await new Promise<void>((resolve, reject) =>
      raw.modem.followProgress(stream, (error: Error | null) => (error ? reject(error) : resolve())),
    );
    pulls.raw.push(performance.now() - started);
    await dropLocalCopies();
    started = performance.now();
    await puller.ensure(image, 'always');
    pulls.service.push(performance.now() - started);
  }
  docker(['tag', image, STANDIN]);
  await app.close();

  // The warm pool: the same service and database, started again with a pool of its own repository, so that neither
  // the cold path above nor the pulls had its idle runners beside them.
  const pooled = await serve(
    loadAppConfig({
      ...env,
      RUNNER_POOLS: JSON.stringify([
        { name: 'bench', repository: warmRepository, labels: ['self-hosted'], minIdle: POOL_SIZE, maxIdle: POOL_SIZE },
      ]),
    }),
  );
  /** When RunnerHub gave each GitHub job a runner (a job:assigned event naming one), by GitHub job id. */
  const assignedAt = new Map<string, number>();
  pooled.get(EventEmitter2).on(JobEvent.Assigned, (job: JobTransitionPayload) => {
    if (job.runnerId && job.githubJobId) assignedAt.set(job.githubJobId, Date.now());
  });
  const pools = pooled.get(RunnerPoolStatus);
  const poolReady = () =>
    until(async () => {
      const [pool] = await pools.list();
      const online = github.runners().filter((r) => r.scope === warmRepository && r.status === 'online');
      return pool.runners.ready === POOL_SIZE && online.length === POOL_SIZE ? true : null;
    }, 'the pool to hold its idle runners, online');
  const warm = { startedOnRunner: [] as number[], assignedInRunnerHub: [] as number[] };
  const warmJob = async () => {
    await poolReady();
    const sent = Date.now();
    const { id } = github.queueWorkflowJob({ repository: warmRepository, labels: ['self-hosted'], steps: ['true'] });
    warm.startedOnRunner.push((await startedOnRunner(id)) - sent);
    warm.assignedInRunnerHub.push((await until(() => assignedAt.get(String(id)), `job ${id} assigned`)) - sent);
    await completed(id);
  };
  // Warm-up, not measured: the new process's first job pays for its cold caches.
  await warmJob();
  warm.startedOnRunner.length = 0;
  warm.assignedInRunnerHub.length = 0;
  for (let i = 0; i < WARM_JOBS; i++) await warmJob();
  const hitsAndMisses = (await pools.list())[0];
  await pooled.close();

  for (const label of [
    `${BENCH_LABEL}=runner-online`,
    `runnerhub.repository=${repository}`,
    `runnerhub.repository=${warmRepository}`,
  ]) {
    const ids = docker(['ps', '-aq', '--filter', `label=${label}`])
      .split('\n')
      .filter(Boolean);
    if (ids.length > 0) docker(['rm', '-f', ...ids]);
  }
  docker(['image', 'rm', image]);
  docker(['network', 'rm', network]);
  await github.stop();
  await registry.stop();
  database.dispose();

  const serviceOnline = latencySummary(online.service);
  const rawOnline = latencySummary(online.raw);
  report('runner-online', {
    benchmark: 'runner-online',
    description:
      `webhook to runner online for ${RUNNERS} GitHub jobs one after another (actions-family stand-in, cached image, ` +
      `JIT) beside the raw engine doing generate-jitconfig + create + start of the same container until its session ` +
      `opens, interleaved; and ${PULLS} cold pulls of the runner image from a local registry, RunnerHub's ImagePuller ` +
      `beside the engine's own pull`,
    database: process.env.BENCH_DATABASE_URL ? 'postgres' : 'sqlite',
    goal: 'p50 overhead under 50 ms over the raw engine',
    at: new Date().toISOString(),
    webhookToOnlineMs: { service: serviceOnline, raw: rawOnline },
    overheadMs: { p50: round(serviceOnline.p50 - rawOnline.p50), p95: round(serviceOnline.p95 - rawOnline.p95) },
    warmPool: {
      description:
        `${WARM_JOBS} GitHub jobs one after another, each queued once the pool of ${POOL_SIZE} idle runners is full ` +
        'again; cold: the jobs above, each on the runner made for it',
      webhookToStartedOnRunnerMs: { warm: latencySummary(warm.startedOnRunner), cold: latencySummary(coldStarts) },
      webhookToAssignedInRunnerHubMs: latencySummary(warm.assignedInRunnerHub),
      ratioOfColdP50: round(median(warm.startedOnRunner) / median(coldStarts), 4),
      assignedRatioOfColdP50: round(median(warm.assignedInRunnerHub) / median(coldStarts), 4),
      goal: 'warm p50 under 100 ms and under 10 % of the cold p50',
      hits: hitsAndMisses.hits,
      misses: hitsAndMisses.misses,
    },
    coldPullMs: {
      service: latencySummary(pulls.service),
      raw: latencySummary(pulls.raw),
      ratio: round(median(pulls.service) / median(pulls.raw), 3),
    },
  });
}

main().catch((error) => {
  new Logger('bench:runner-online').error(error instanceof Error ? error.stack : String(error));
  process.exit(1);
});
