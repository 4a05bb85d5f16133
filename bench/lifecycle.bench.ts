/**
 * The full lifecycle (create, start, stop, remove) of N containers through the HTTP API of the service running in a
 * process of its own (POST /api/containers with start=false, POST /:id/start, POST /:id/stop, DELETE /:id), against
 * raw dockerode making the same four engine calls with the same create body, in the same run, in alternating rounds
 * so that drift in the machine's load hits both sides alike. Sequential and with concurrency 10. Before measuring, the
 * HostConfig of a container the service made is compared with the raw side's: the bench refuses to run when they
 * differ, so the two sides ask the engine for the same work. JSON out.
 *
 *   npm run bench:lifecycle            (N=50, 2 rounds each)      BENCH_N=20 BENCH_ROUNDS=1 to go faster
 */
import 'reflect-metadata';
import { isDeepStrictEqual } from 'node:util';
import { AppConfig, loadAppConfig } from '@app/common';
import { ContainerSpecBuilder, HostBindMounts } from '@app/lifecycle';
import { Logger } from '@nestjs/common';
import Dockerode from 'dockerode';
import {
  BENCH_IMAGE,
  BENCH_LABEL,
  benchDatabaseEnv,
  forEachLimited,
  median,
  rawCreateOptions,
  report,
  round,
  startServiceProcess,
} from './support';

const N = Number(process.env.BENCH_N ?? 50);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 2);
const CONCURRENCIES = [1, 10];
const STOP_TIMEOUT_SECONDS = 10;
const API_KEY = 'bench-operator-key-0123456789';

type Timings = { create: number[]; start: number[]; stop: number[]; remove: number[] };

async function main() {
  const database = benchDatabaseEnv();
  const env = {
    // Production settings, request and transition logging included: what an operator runs.
    NODE_ENV: 'production',
    LOG_LEVEL: 'info',
    PORT: '0',
    RUNNERHUB_API_KEYS: `${API_KEY}:operator`,
    // Every container made here holds a slot of MAX_CONCURRENT_CONTAINERS (1000 is the most it may be).
    MAX_CONCURRENT_CONTAINERS: '1000',
    // What is measured is the lifecycle, not the per-key budget of mutating calls (which would answer 429).
    RATE_LIMIT_MUTATIONS_PER_MINUTE: '100000',
    ...database.env,
  };
  const config = loadAppConfig(env);
  // The raw side's create body comes from the same builder and configuration as the service's.
  const specs = new ContainerSpecBuilder(config, new HostBindMounts(config));
  const raw = rawClient(config);
  const service = await startServiceProcess(env);
  const api = apiClient(`http://127.0.0.1:${service.port}`);
  const request = { image: BENCH_IMAGE, command: ['sleep', '3600'], labels: { [BENCH_LABEL]: 'lifecycle' } };
  const limits = { memoryMB: 64, pidsLimit: 64 };

  const viaService = async (t: Timings, beforeRemoval?: (engineId: string) => Promise<void>) => {
    const created = await timed(t.create, () => api.call('POST', '', { config: request, limits, start: false }));
    await timed(t.start, () => api.call('POST', `/${created.id}/start`));
    await timed(t.stop, () => api.call('POST', `/${created.id}/stop`, { timeout: STOP_TIMEOUT_SECONDS }));
    await beforeRemoval?.(created.engineId!);
    await timed(t.remove, () => api.call('DELETE', `/${created.id}`));
  };
  const viaRaw = async (t: Timings, beforeRemoval?: (engineId: string) => Promise<void>) => {
    const body = await rawCreateOptions(specs, request, limits);
    const container = await timed(t.create, () => raw.createContainer(body));
    await timed(t.start, () => container.start());
    await timed(t.stop, () => container.stop({ t: STOP_TIMEOUT_SECONDS }));
    await beforeRemoval?.(container.id);
    await timed(t.remove, () => container.remove({ force: true, v: true }));
  };

  try {
    // One warm-up container each, so the first measured create does not pay for cold caches; and the proof that the
    // engine is asked for the same container by both.
    const hostConfigs: unknown[] = [];
    const keepHostConfig = async (engineId: string) => {
      hostConfigs.push((await raw.getContainer(engineId).inspect()).HostConfig);
    };
    await viaRaw(emptyTimings(), keepHostConfig);
    await viaService(emptyTimings(), keepHostConfig);
    if (!isDeepStrictEqual(hostConfigs[0], hostConfigs[1])) {
      throw new Error(
        `the service and the raw side made different containers:\n${JSON.stringify(hostConfigs, null, 2)}`,
      );
    }

    const results = [];
    for (const concurrency of CONCURRENCIES) {
      const totals = { raw: [] as number[], service: [] as number[] };
      const perOp = { raw: emptyTimings(), service: emptyTimings() };
      for (let r = 0; r < ROUNDS; r++) {
        for (const side of ['raw', 'service'] as const) {
          const started = performance.now();
          await forEachLimited(N, concurrency, () => (side === 'raw' ? viaRaw(perOp.raw) : viaService(perOp.service)));
          totals[side].push(performance.now() - started);
        }
      }
      const rawMs = median(totals.raw);
      const serviceMs = median(totals.service);
      results.push({
        concurrency,
        containers: N,
        rounds: ROUNDS,
        rawMs: round(rawMs),
        serviceMs: round(serviceMs),
        ratio: round(serviceMs / rawMs, 3),
        overheadPercent: round((serviceMs / rawMs - 1) * 100),
        containersPerSecond: { raw: round((N * 1000) / rawMs, 2), service: round((N * 1000) / serviceMs, 2) },
        medianMsPerOperation: { raw: medians(perOp.raw), service: medians(perOp.service) },
      });
    }
    report('lifecycle', {
      benchmark: 'lifecycle',
      description:
        'create+start+stop+remove of N containers: the HTTP API of the service in its own process vs raw dockerode ' +
        'with the same create body, same run',
      database: process.env.BENCH_DATABASE_URL ? 'postgres' : 'sqlite',
      goal: 'service within 10% of the raw engine at N=50',
      at: new Date().toISOString(),
      results,
    });
  } finally {
    await service.stop();
    await cleanUp(raw);
    database.dispose();
  }
}

/** The containers routes of the API, as an operator calls them; any answer but 2xx fails the bench. */
function apiClient(base: string) {
  return {
    async call(method: string, path: string, body?: unknown): Promise<{ id: string; engineId: string | null }> {
      const response = await fetch(`${base}/api/containers${path}`, {
        method,
        headers: { authorization: `Bearer ${API_KEY}`, 'content-type': 'application/json' },
        ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
      });
      const text = await response.text();
      if (!response.ok) throw new Error(`${method} /api/containers${path} answered ${response.status}: ${text}`);
      return (JSON.parse(text) as { data: { id: string; engineId: string | null } }).data;
    },
  };
}

function rawClient(config: AppConfig): Dockerode {
  return config.docker.kind === 'socket'
    ? new Dockerode({ socketPath: config.docker.socketPath, version: 'v1.41' })
    : new Dockerode({
        host: config.docker.host,
        port: config.docker.port,
        protocol: config.docker.protocol,
        version: 'v1.41',
      });
}

async function cleanUp(docker: Dockerode) {
  const leftovers = await docker.listContainers({ all: true, filters: { label: [`${BENCH_LABEL}=lifecycle`] } });
  await Promise.all(leftovers.map((c) => docker.getContainer(c.Id).remove({ force: true })));
}

async function timed<T>(into: number[], work: () => Promise<T>): Promise<T> {
  const started = performance.now();
  const result = await work();
  into.push(performance.now() - started);
  return result;
}

function emptyTimings(): Timings {
  return { create: [], start: [], stop: [], remove: [] };
}

function medians(t: Timings) {
  return {
    create: round(median(t.create)),
    start: round(median(t.start)),
    stop: round(median(t.stop)),
    remove: round(median(t.remove)),
  };
}

main().catch((error) => {
  new Logger('bench:lifecycle').error(error instanceof Error ? error.stack : String(error));
  process.exit(1);
});
