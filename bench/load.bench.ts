/**
 * A mixed read and write load against a live instance, with jobs flowing: the service in a process of its own (as in
 * production, on the loopback fake GitHub, runner stand-ins that "run a job" for 3 s, at most 5 live), then for
 * BENCH_DURATION_S four autocannon instances reading (GET /api/containers, GET /api/jobs, GET
 * /api/containers/usage/summary, GET /health/ready) while a fifth submits POST /api/jobs at a bounded rate. Reports the
 * error rate (non-2xx and socket errors), p50/p99 latency and requests/s per route group, jobs submitted and completed
 * in the window, and the service process's RSS sampled every 5 s with its least-squares slope (a leak shows as a
 * steady climb; no trend is a slope near 0). Not a CI benchmark: there is no raw baseline, it is a soak in small.
 *
 *   npm run load        BENCH_DURATION_S=60 BENCH_CONNECTIONS=2 (per read route) BENCH_JOBS_PER_S=2 BENCH_WARMUP_S=10
 */
import 'reflect-metadata';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { JobState, loadAppConfig } from '@app/common';
import { Logger } from '@nestjs/common';
import autocannon from 'autocannon';
import Dockerode from 'dockerode';
import { FakeGitHub } from '../test/support/fake-github';
import { benchDatabaseEnv, report, round, spawnService } from './support';
import { CUSTOM_STANDIN_ENV } from '../test/support/test-env';

const DURATION_S = Number(process.env.BENCH_DURATION_S ?? 60);
const WARMUP_S = Number(process.env.BENCH_WARMUP_S ?? 10);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 2);
const JOBS_PER_S = Number(process.env.BENCH_JOBS_PER_S ?? 2);
const MAX_CONTAINERS = 5;
const RSS_EVERY_MS = 5_000;
const RUNNER_IMAGE = process.env.TEST_RUNNER_IMAGE ?? 'runnerhub-test/runner:1';
const VIEWER_KEY = 'load-viewer-key-0123456789';
const OPERATOR_KEY = 'load-operator-key-0123456789';
const TOKEN = 'ghp_load_token_0123456789';
const MIB = 1024 * 1024;

const READS = {
  'GET /api/containers': '/api/containers',
  'GET /api/jobs': '/api/jobs',
  'GET /api/containers/usage/summary': '/api/containers/usage/summary',
  'GET /health/ready': '/health/ready',
} as const;
const WRITE = 'POST /api/jobs';

type RouteName = keyof typeof READS | typeof WRITE;

interface Service {
  pid: number;
  port: number;
  /** Error and fatal log lines seen so far (the first few kept), and warnings counted. */
  logs: { errors: number; warnings: number; firstErrors: string[] };
  stop(): Promise<void>;
}

async function main() {
  const database = benchDatabaseEnv();
  const github = await FakeGitHub.start({ token: TOKEN });
  const repository = `bench-org/load-${randomBytes(3).toString('hex')}`;
  const env: Record<string, string> = {
    // Production settings, request logging included: that is what an operator runs.
    NODE_ENV: 'production',
    LOG_LEVEL: 'info',
    PORT: '0',
    RUNNERHUB_API_KEYS: `${VIEWER_KEY}:viewer,${OPERATOR_KEY}:operator`,
    GITHUB_API_URL: github.url,
    GITHUB_TOKEN: TOKEN,
    RUNNER_IMAGE,
    ...CUSTOM_STANDIN_ENV,
    RUNNER_MEMORY_MB: '64',
    MAX_CONCURRENT_CONTAINERS: String(MAX_CONTAINERS),
    RATE_LIMIT_MUTATIONS_PER_MINUTE: '100000',
    RATE_LIMIT_READS_PER_MINUTE: '1000000',
    ...(process.env.DOCKER_HOST ? { DOCKER_HOST: process.env.DOCKER_HOST } : {}),
    ...database.env,
  };
  const config = loadAppConfig(env);
  const docker =
    config.docker.kind === 'socket'
      ? new Dockerode({ socketPath: config.docker.socketPath })
      : new Dockerode({ host: config.docker.host, port: config.docker.port, protocol: config.docker.protocol });

  let service: Service | undefined;
  let removed: number | undefined;
  try {
    service = await startService(env);
    const base = `http://127.0.0.1:${service.port}`;
    await waitReady(base);
    const jobs = jobCounter(base, repository);

    // Warm-up with the same mix: JIT, caches, pools and the first runners all settle before anything is measured.
    await mix(base, repository, WARMUP_S);

    const before = await jobs();
    const rss: Array<{ atS: number; mib: number }> = [];
    const started = performance.now();
    const sample = () => rss.push({ atS: round((performance.now() - started) / 1000, 2), mib: rssMiB(service!.pid) });
    sample();
    const sampler = setInterval(sample, RSS_EVERY_MS);
    const logsBefore = { errors: service.logs.errors, warnings: service.logs.warnings };
    const results = await mix(base, repository, DURATION_S);
    clearInterval(sampler);
    if (performance.now() - started - rss[rss.length - 1].atS * 1000 > 1000) sample();
    const after = await jobs();
    const serviceLogs = {
      errorLines: service.logs.errors - logsBefore.errors,
      warningLines: service.logs.warnings - logsBefore.warnings,
      firstErrors: service.logs.firstErrors,
    };

    const routes = Object.fromEntries(
      Object.entries(results).map(([name, result]) => [name, summarize(result)]),
    ) as Record<RouteName, ReturnType<typeof summarize>>;
    const all = Object.values(results);
    const requests = all.reduce((n, r) => n + r.requests.total, 0);
    const errors = all.reduce((n, r) => n + r.errors, 0);
    const non2xx = all.reduce((n, r) => n + r.non2xx, 0);
    const trend = leastSquares(rss.map((s) => [s.atS / 60, s.mib]));

    await service.stop();
    service = undefined;
    removed = await removeContainers(docker, repository);

    report('load', {
      benchmark: 'load',
      description:
        `mixed load for ${DURATION_S} s after a ${WARMUP_S} s warm-up: ${CONNECTIONS} autocannon connections on each ` +
        `of ${Object.keys(READS).length} read routes, ${WRITE} at ${JOBS_PER_S}/s; runner stand-ins run 3 s, at most ` +
        `${MAX_CONTAINERS} live; the service in its own process, production logging`,
      database: process.env.BENCH_DATABASE_URL ? 'postgres' : 'sqlite',
      at: new Date().toISOString(),
      durationS: DURATION_S,
      warmupS: WARMUP_S,
      connectionsPerReadRoute: CONNECTIONS,
      jobsPerSecondOffered: JOBS_PER_S,
      maxConcurrentContainers: MAX_CONTAINERS,
      overall: {
        requests,
        requestsPerSecond: round(requests / DURATION_S),
        non2xx,
        errors,
        errorRate: round((non2xx + errors) / Math.max(1, requests + errors), 5),
      },
      routes,
      jobs: {
        submitted: routes[WRITE].status2xx,
        completed: after.completed - before.completed,
        failed: after.failed - before.failed,
        atStart: before,
        atEnd: after,
      },
      rssMiB: {
        start: rss[0].mib,
        end: rss[rss.length - 1].mib,
        min: Math.min(...rss.map((s) => s.mib)),
        max: Math.max(...rss.map((s) => s.mib)),
        slopeMiBPerMin: round(trend.slope, 3),
        // The garbage collector's sawtooth makes single samples noisy: a slope within ~2 standard errors of 0 is no trend.
        slopeStandardErrorMiBPerMin: round(trend.standardError, 3),
        samples: rss,
      },
      serviceLogs,
      containersRemoved: removed,
    });
  } finally {
    // On failure too: no service left running, no container of this run left behind.
    if (service) await service.stop();
    if (removed === undefined) await removeContainers(docker, repository);
    await github.stop();
    database.dispose();
  }
}

/** The read routes under CONNECTIONS connections each and the job submissions at JOBS_PER_S, all at once. */
async function mix(base: string, repository: string, durationS: number) {
  const read = (path: string) =>
    autocannon({
      url: `${base}${path}`,
      connections: CONNECTIONS,
      duration: durationS,
      headers: { authorization: `Bearer ${VIEWER_KEY}` },
    });
  const write = autocannon({
    url: `${base}/api/jobs`,
    connections: 1,
    overallRate: JOBS_PER_S,
    duration: durationS,
    method: 'POST',
    headers: { authorization: `Bearer ${OPERATOR_KEY}`, 'content-type': 'application/json' },
    body: JSON.stringify({ repository, labels: ['self-hosted'] }),
  });
  const names = Object.keys(READS) as Array<keyof typeof READS>;
  const results = await Promise.all([...names.map((name) => read(READS[name])), write]);
  return Object.fromEntries([...names, WRITE].map((name, i) => [name, results[i]])) as Record<
    RouteName,
    autocannon.Result
  >;
}

function summarize(result: autocannon.Result) {
  return {
    requests: result.requests.total,
    requestsPerSecond: round(result.requests.average),
    latencyMs: { p50: result.latency.p50, p90: result.latency.p90, p99: result.latency.p99, max: result.latency.max },
    status2xx: result['2xx'],
    non2xx: result.non2xx,
    errors: result.errors,
    timeouts: result.timeouts,
    errorRate: round((result.non2xx + result.errors) / Math.max(1, result.requests.total + result.errors), 5),
    statusCodes: Object.fromEntries(
      Object.entries(result.statusCodeStats as Record<string, { count: number }>).map(([code, s]) => [code, s.count]),
    ),
  };
}

/** Jobs of this run's repository by state, from the service's own API. */
function jobCounter(base: string, repository: string) {
  const count = async (state: JobState) => {
    const query = new URLSearchParams({ repository, state, limit: '1' });
    const response = await fetch(`${base}/api/jobs?${query.toString()}`, {
      headers: { authorization: `Bearer ${VIEWER_KEY}` },
    });
    if (!response.ok) throw new Error(`GET /api/jobs answered ${response.status}: ${await response.text()}`);
    return ((await response.json()) as { page: { total: number } }).page.total;
  };
  return async () => {
    const states = Object.values(JobState);
    const totals = await Promise.all(states.map(count));
    return Object.fromEntries(states.map((state, i) => [state, totals[i]])) as Record<JobState, number>;
  };
}

/** The resident set of a process, from the kernel's own accounting. */
function rssMiB(pid: number): number {
  const match = /^VmRSS:\s+(\d+)\s+kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (!match) throw new Error(`no VmRSS in /proc/${pid}/status`);
  return round((Number(match[1]) * 1024) / MIB, 1);
}

/** Slope of the least-squares line through (x, y) points, and the slope's standard error. */
function leastSquares(points: Array<[number, number]>): { slope: number; standardError: number } {
  const n = points.length;
  const meanX = points.reduce((s, [x]) => s + x, 0) / n;
  const meanY = points.reduce((s, [, y]) => s + y, 0) / n;
  const sxy = points.reduce((s, [x, y]) => s + (x - meanX) * (y - meanY), 0);
  const sxx = points.reduce((s, [x]) => s + (x - meanX) ** 2, 0);
  if (n < 3 || sxx === 0) return { slope: sxx === 0 ? 0 : sxy / sxx, standardError: Number.NaN };
  const slope = sxy / sxx;
  const residuals = points.reduce((s, [x, y]) => s + (y - meanY - slope * (x - meanX)) ** 2, 0);
  return { slope, standardError: Math.sqrt(residuals / (n - 2) / sxx) };
}

async function waitReady(base: string, timeoutMs = 60_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const status = await fetch(`${base}/health/ready`).then(
      (r) => r.status,
      () => 0,
    );
    if (status === 200) return;
    if (Date.now() > deadline) throw new Error(`the service was not ready within ${timeoutMs} ms (last ${status})`);
    await new Promise((done) => setTimeout(done, 200));
  }
}

/** Every container this run caused: the runners of its repository's jobs, whatever their state. */
async function removeContainers(docker: Dockerode, repository: string): Promise<number> {
  const leftovers = await docker.listContainers({
    all: true,
    filters: { label: [`runnerhub.repository=${repository}`] },
  });
  await Promise.all(leftovers.map((c) => docker.getContainer(c.Id).remove({ force: true, v: true })));
  return leftovers.length;
}

async function startService(env: Record<string, string>): Promise<Service> {
  const child = spawnService(env);
  const exited = new Promise<void>((done) => child.once('exit', () => done()));
  const logs: Service['logs'] = { errors: 0, warnings: 0, firstErrors: [] };
  let startup = '';
  let partial = '';
  let listening = false;
  const port = await new Promise<number>((done, fail) => {
    const onData = (chunk: Buffer) => {
      if (!listening) {
        startup += chunk.toString();
        const match = /listening on port (\d+)/.exec(startup);
        if (match) {
          listening = true;
          done(Number(match[1]));
        }
      }
      // Past start-up the request log flows: read every line (so the pipe never blocks), keep only the complaints.
      const lines = (partial + chunk.toString()).split('\n');
      partial = lines.pop() ?? '';
      for (const line of lines) {
        const level = /"level":(\d+)/.exec(line)?.[1];
        if (level === '40') logs.warnings++;
        if (level === '50' || level === '60') {
          logs.errors++;
          if (logs.firstErrors.length < 5) logs.firstErrors.push(line.slice(0, 2000));
        }
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    void exited.then(() => fail(new Error(`the service exited before listening:\n${startup}`)));
  });
  let stopped: Promise<void> | undefined;
  return {
    pid: child.pid!,
    port,
    logs,
    stop: () =>
      (stopped ??= (async () => {
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
        await exited;
        clearTimeout(timer);
      })()),
  };
}

main().catch((error) => {
  new Logger('load').error(error instanceof Error ? error.stack : String(error));
  process.exit(1);
});
