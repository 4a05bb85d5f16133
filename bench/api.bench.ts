/**
 * The read API under load: 10,000 container records in the database, then `GET /api/containers` (filtered and
 * paged) and `GET /api/containers/:id` under autocannon for 20 s each, requests per second and latency percentiles.
 * Beside them, in the same run, the engine's own `GET /containers/json` over its socket under the same load, as the
 * raw baseline, and the liveness probe as the service's own floor. JSON out. autocannon runs here and the service in a process of its own.
 *
 *   npm run bench:api          BENCH_RECORDS=10000 BENCH_DURATION_S=20 BENCH_CONNECTIONS=10
 *   BENCH_CPU_PROFILE_DIR=dir  also writes the service's CPU profile there (bench/support.ts)
 */
import 'reflect-metadata';
import { randomUUID } from 'node:crypto';
import { AppConfig, AppConfigModule, ContainerState, loadAppConfig } from '@app/common';
import { ContainerRecordRepository, PersistenceModule } from '@app/persistence';
import { Logger, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import autocannon from 'autocannon';
import { benchDatabaseEnv, processCpuMs, report, round, startServiceProcess } from './support';

const RECORDS = Number(process.env.BENCH_RECORDS ?? 10_000);
const DURATION_S = Number(process.env.BENCH_DURATION_S ?? 20);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 10);
const API_KEY = 'bench-viewer-key-0123456789';
/**
 * The history a long-running installation keeps: records of removed containers. Records in any other state would
 * claim containers this engine does not have, and the service's start-up resync would spend the whole measurement
 * closing them (an engine call, two transitions and a slot count each), measuring the reconciler rather than reads.
 */
const SEEDED_STATE = ContainerState.Removed;
const REPOSITORIES = 20;

async function main() {
  const database = benchDatabaseEnv();
  // Production settings, request logging included: that is what an operator runs.
  const env = {
    NODE_ENV: 'production',
    LOG_LEVEL: 'info',
    PORT: '0',
    RUNNERHUB_API_KEYS: `${API_KEY}:viewer`,
    // The throughput of the read path is what is measured, not the per-key read budget (which would answer 429).
    RATE_LIMIT_READS_PER_MINUTE: '1000000',
    ...database.env,
  };
  const config = loadAppConfig(env);
  const seeded = await seed(config);
  // The service runs in a process of its own, as in production: autocannon in the same event loop would halve it.
  const service = await startServiceProcess(env);
  const base = `http://127.0.0.1:${service.port}`;
  const headers = { authorization: `Bearer ${API_KEY}` };

  // A full page of the records of one repository, and their total.
  const listUrl = `${base}/api/containers?state=${SEEDED_STATE}&repository=octo%2Frepo-7&limit=50&offset=0`;
  await requireFullPage(listUrl, headers);
  const list = await load({ url: listUrl, headers }, service.pid);
  const detail = await load(
    {
      url: `${base}/api/containers/${seeded[0]}`,
      headers,
      // Spread the reads over many records, as a dashboard of many containers would.
      requests: seeded.slice(0, 500).map((id) => ({ method: 'GET', path: `/api/containers/${id}` })),
    },
    service.pid,
  );
  // The floor under every route: the liveness probe (no key, no database, a constant answer) through the same
  // server, middleware and request log, under the same load. A read cannot be faster than this on this machine.
  const floor = await load({ url: `${base}/health` }, service.pid);
  const engine = await load({ url: 'http://localhost/v1.41/containers/json?limit=50', socketPath: socketOf(config) });
  await service.stop();
  database.dispose();

  report('api', {
    benchmark: 'api',
    description: `GET list and detail over ${RECORDS} records, autocannon ${CONNECTIONS} connections x ${DURATION_S}s each`,
    database: process.env.BENCH_DATABASE_URL ? 'postgres' : 'sqlite',
    goal: 'p99 under 20 ms for both on the embedded database',
    at: new Date().toISOString(),
    records: RECORDS,
    results: { listContainers: list, getContainer: detail, livenessFloor: floor, rawEngineListContainers: engine },
    ratioToEngineList: {
      listContainersRps: round(list.requestsPerSecond / engine.requestsPerSecond, 3),
      getContainerRps: round(detail.requestsPerSecond / engine.requestsPerSecond, 3),
    },
  });
}

async function seed(config: AppConfig): Promise<string[]> {
  @Module({ imports: [AppConfigModule.forRoot(config), PersistenceModule] })
  class SeedModule {}
  const context = await NestFactory.createApplicationContext(SeedModule, { logger: ['error'] });
  const records = context.get(ContainerRecordRepository);
  const ids: string[] = [];
  for (let i = 0; i < RECORDS; i++) {
    const id = randomUUID();
    ids.push(id);
    await records.insert(
      {
        id,
        name: `runner-${id.replace(/-/g, '').slice(0, 12)}`,
        state: SEEDED_STATE,
        engineId: `bench${String(i).padStart(59, '0')}`,
        runnerId: `runner-${i % 100}`,
        jobId: `job-${i}`,
        repository: `octo/repo-${i % REPOSITORIES}`,
        spec: {
          image: 'runnerhub-test/busybox:1',
          envNames: ['RUNNER_TOKEN'],
          labels: { 'runnerhub.managed': 'true' },
        },
        limits: { cpuShares: 1024, memoryMB: 2048, pidsLimit: 512 },
        security: { capDrop: ['ALL'], securityOpt: ['no-new-privileges'] },
      },
      { reason: 'seeded by bench:api', actor: 'bench' },
    );
  }
  await context.close();
  return ids;
}

/** The list measured must answer a full page: an empty one (a filter that matches nothing) costs far less. */
async function requireFullPage(url: string, headers: Record<string, string>): Promise<void> {
  const body = (await (await fetch(url, { headers })).json()) as { data?: unknown[]; page?: { total: number } };
  const expected = Math.ceil(RECORDS / REPOSITORIES);
  if (body.data?.length !== Math.min(50, expected) || body.page?.total !== expected) {
    throw new Error(`the measured list does not answer a full page: ${JSON.stringify(body).slice(0, 300)}`);
  }
}

/** autocannon's figures, and with the service's pid the CPU time the service spent per request answered. */
async function load(options: autocannon.Options, servicePid?: number) {
  const cpuBefore = servicePid === undefined ? 0 : processCpuMs(servicePid);
  const result = await autocannon({ connections: CONNECTIONS, duration: DURATION_S, ...options });
  const cpuMs = servicePid === undefined ? undefined : processCpuMs(servicePid) - cpuBefore;
  return {
    requestsPerSecond: round(result.requests.average),
    ...(cpuMs === undefined ? {} : { serviceCpuMsPerRequest: round(cpuMs / result.requests.total, 3) }),
    latencyMs: { p50: result.latency.p50, p90: result.latency.p90, p99: result.latency.p99, max: result.latency.max },
    requests: result.requests.total,
    non2xx: result.non2xx,
    errors: result.errors,
    timeouts: result.timeouts,
  };
}

function socketOf(config: AppConfig): string {
  if (config.docker.kind !== 'socket') throw new Error('bench:api measures the engine baseline over its unix socket');
  return config.docker.socketPath;
}

main().catch((error) => {
  new Logger('bench:api').error(error instanceof Error ? error.stack : String(error));
  process.exit(1);
});
