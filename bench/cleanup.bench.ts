/**
 * Cleanup at scale: N expired containers (created and never started, no job: orphans) removed by one cleanup scan,
 * beside the raw engine removing N containers made from the same create body, with the same number in flight
 * (CLEANUP_CONCURRENCY), in the same run. JSON out.
 *
 *   npm run bench:cleanup       BENCH_CONTAINERS=100 BENCH_ROUNDS=2
 */
import 'reflect-metadata';
import { loadAppConfig } from '@app/common';
import { CleanupService } from '@app/cleanup';
import { ContainerLifecycleManager, ContainerSpecBuilder } from '@app/lifecycle';
import { Logger } from '@nestjs/common';
import Dockerode from 'dockerode';
import { createApp } from '../apps/runnerhub/src/bootstrap';
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

const CONTAINERS = Number(process.env.BENCH_CONTAINERS ?? 100);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 2);

async function main() {
  const database = benchDatabaseEnv();
  const config = loadAppConfig({
    NODE_ENV: 'production',
    LOG_LEVEL: 'warn',
    RUNNERHUB_API_KEYS: 'bench-operator-key-0123456789:operator',
    CLEANUP_ORPHAN_AGE_MS: '0',
    CLEANUP_INTERVAL_MS: String(7 * 24 * 3600 * 1000),
    // Every container made here holds a slot of MAX_CONCURRENT_CONTAINERS (1000 is the most it may be).
    MAX_CONCURRENT_CONTAINERS: '1000',
    ...database.env,
  });
  const app = await createApp(config);
  await app.init();
  const lifecycle = app.get(ContainerLifecycleManager);
  const cleanup = app.get(CleanupService);
  const specs = app.get(ContainerSpecBuilder);
  const raw = new Dockerode(
    config.docker.kind === 'socket'
      ? { socketPath: config.docker.socketPath }
      : { host: config.docker.host, port: config.docker.port },
  );
  const request = { image: BENCH_IMAGE, command: ['sleep', '3600'], labels: { [BENCH_LABEL]: 'cleanup' } };
  const concurrency = config.cleanup.concurrency;

  const service: number[] = [];
  const rawTimes: number[] = [];
  let removedByScan = 0;
  for (let roundIndex = 0; roundIndex < ROUNDS; roundIndex++) {
    await forEachLimited(CONTAINERS, 10, async () => {
      await lifecycle.createContainer(null, null, request, {});
    });
    const started = performance.now();
    const report = await cleanup.run('manual');
    service.push(performance.now() - started);
    removedByScan = report.outcomes.filter((o) => o.outcome === 'removed').length;
    if (removedByScan < CONTAINERS) throw new Error(`the scan removed ${removedByScan} of ${CONTAINERS}`);

    const made: Dockerode.Container[] = [];
    await forEachLimited(CONTAINERS, 10, async () => {
      made.push(await raw.createContainer(await rawCreateOptions(specs, request, {})));
    });
    const rawStarted = performance.now();
    await forEachLimited(CONTAINERS, concurrency, async (i) => {
      await made[i].remove({ force: true, v: true });
    });
    rawTimes.push(performance.now() - rawStarted);
  }
  await app.close();
  database.dispose();

  const serviceMs = median(service);
  const rawMs = median(rawTimes);
  report('cleanup', {
    benchmark: 'cleanup',
    description: `${CONTAINERS} expired containers removed by one cleanup scan, beside the raw engine removing as many, ${concurrency} at a time`,
    database: process.env.BENCH_DATABASE_URL ? 'postgres' : 'sqlite',
    at: new Date().toISOString(),
    containers: CONTAINERS,
    rounds: ROUNDS,
    concurrency,
    removedByScan,
    serviceScanMs: round(serviceMs),
    rawRemoveMs: round(rawMs),
    ratio: round(serviceMs / rawMs, 3),
  });
}

main().catch((error) => {
  new Logger('bench:cleanup').error(error instanceof Error ? error.stack : String(error));
  process.exit(1);
});
