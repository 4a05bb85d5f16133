/**
 * The full lifecycle (create, start, stop, remove) of N containers through ContainerLifecycleManager, against raw
 * dockerode making the same calls with the same create body, in the same run, in alternating rounds so that drift
 * in the machine's load hits both sides alike. Sequential and with concurrency 10. JSON out.
 *
 *   npm run bench:lifecycle            (N=50, 2 rounds each)      BENCH_N=20 BENCH_ROUNDS=1 to go faster
 */
import 'reflect-metadata';
import { AppConfig, AppConfigModule, loadAppConfig } from '@app/common';
import { ContainerLifecycleManager, ContainerSpecBuilder, LifecycleModule } from '@app/lifecycle';
import { Logger } from '@nestjs/common';
import { EventEmitterModule } from '@nestjs/event-emitter';
import { NestFactory } from '@nestjs/core';
import { Module } from '@nestjs/common';
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
} from './support';

const N = Number(process.env.BENCH_N ?? 50);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 2);
const CONCURRENCIES = [1, 10];
const STOP_TIMEOUT_SECONDS = 10;

type Timings = { create: number[]; start: number[]; stop: number[]; remove: number[] };

async function main() {
  const database = benchDatabaseEnv();
  const config = loadAppConfig({
    NODE_ENV: 'test',
    LOG_LEVEL: 'warn',
    // Every container made here holds a slot of MAX_CONCURRENT_CONTAINERS (1000 is the most it may be).
    MAX_CONCURRENT_CONTAINERS: '1000',
    ...database.env,
  });
  @Module({
    imports: [
      AppConfigModule.forRoot(config),
      EventEmitterModule.forRoot({ wildcard: true, delimiter: ':' }),
      LifecycleModule,
    ],
  })
  class BenchModule {}
  const app = await NestFactory.createApplicationContext(BenchModule, { logger: ['error'] });
  const manager = app.get(ContainerLifecycleManager);
  const specs = app.get(ContainerSpecBuilder);
  const raw = rawClient(app.get(AppConfig));
  const request = { image: BENCH_IMAGE, command: ['sleep', '3600'], labels: { [BENCH_LABEL]: 'lifecycle' } };
  const limits = { memoryMB: 64, pidsLimit: 64 };

  const viaManager = async (t: Timings) => {
    const id = await timed(t.create, () => manager.createContainer('bench', null, request, limits));
    await timed(t.start, () => manager.start(id));
    await timed(t.stop, () => manager.stop(id, STOP_TIMEOUT_SECONDS));
    await timed(t.remove, () => manager.remove(id));
  };
  const viaRaw = async (t: Timings) => {
    // Exactly the body the manager sends: same host config, same labels, same init.
    const body = await rawCreateOptions(specs, request, limits);
    const container = await timed(t.create, () => raw.createContainer(body));
    await timed(t.start, () => container.start());
    await timed(t.stop, () => container.stop({ t: STOP_TIMEOUT_SECONDS }));
    await timed(t.remove, () => container.remove({ force: true, v: true }));
  };

  // One warm-up container each, so the first measured create does not pay for cold caches.
  await viaRaw(emptyTimings());
  await viaManager(emptyTimings());

  const results = [];
  for (const concurrency of CONCURRENCIES) {
    const totals = { raw: [] as number[], manager: [] as number[] };
    const perOp = { raw: emptyTimings(), manager: emptyTimings() };
    for (let r = 0; r < ROUNDS; r++) {
      for (const side of ['raw', 'manager'] as const) {
        const started = performance.now();
        await forEachLimited(N, concurrency, () => (side === 'raw' ? viaRaw(perOp.raw) : viaManager(perOp.manager)));
        totals[side].push(performance.now() - started);
      }
    }
    const rawMs = median(totals.raw);
    const managerMs = median(totals.manager);
    results.push({
      concurrency,
      containers: N,
      rounds: ROUNDS,
      rawMs: round(rawMs),
      managerMs: round(managerMs),
      ratio: round(managerMs / rawMs, 3),
      overheadPercent: round((managerMs / rawMs - 1) * 100),
      containersPerSecond: { raw: round((N * 1000) / rawMs, 2), manager: round((N * 1000) / managerMs, 2) },
      medianMsPerOperation: { raw: medians(perOp.raw), manager: medians(perOp.manager) },
    });
  }
  await app.close();
  await cleanUp(raw);
  database.dispose();
  report('lifecycle', {
    benchmark: 'lifecycle',
    description: 'create+start+stop+remove of N containers: ContainerLifecycleManager vs raw dockerode, same run',
    database: process.env.BENCH_DATABASE_URL ? 'postgres' : 'sqlite',
    goal: 'manager within 10% of the raw engine at N=50',
    at: new Date().toISOString(),
    results,
  });
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
