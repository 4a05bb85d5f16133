/**
 * Monitoring at scale: N running containers sampled every 2 s for 60 s by the service's sampler: the CPU time the
 * service spent per round, the round's wall time, and the age of the oldest latest-sample when a round ends. Beside
 * it, in the same run and over the same containers, `docker stats --no-stream` (the CLI's own pass), timed for its
 * wall time and its user+system CPU. JSON out.
 *
 *   npm run bench:monitoring     BENCH_CONTAINERS=100 BENCH_DURATION_S=60 BENCH_INTERVAL_MS=2000
 */
import 'reflect-metadata';
import { spawnSync } from 'node:child_process';
import { loadAppConfig } from '@app/common';
import { ContainerLifecycleManager } from '@app/lifecycle';
import { LatestUsageStore, UsageSampler } from '@app/monitoring';
import { Logger } from '@nestjs/common';
import { createApp } from '../apps/runnerhub/src/bootstrap';
import {
  BENCH_IMAGE,
  BENCH_LABEL,
  benchDatabaseEnv,
  forEachLimited,
  median,
  percentile,
  report,
  round,
} from './support';

const CONTAINERS = Number(process.env.BENCH_CONTAINERS ?? 100);
const DURATION_S = Number(process.env.BENCH_DURATION_S ?? 60);
const INTERVAL_MS = Number(process.env.BENCH_INTERVAL_MS ?? 2_000);
const CLI_PASSES = 5;

async function main() {
  const database = benchDatabaseEnv();
  const config = loadAppConfig({
    NODE_ENV: 'production',
    LOG_LEVEL: 'warn',
    RUNNERHUB_API_KEYS: 'bench-viewer-key-0123456789:viewer',
    STATS_INTERVAL_MS: String(INTERVAL_MS),
    // The health checks have their own benchmark-free cost; keep them out of the rounds measured here.
    HEALTH_INTERVAL_MS: String(7 * 24 * 3600 * 1000),
    // Every container made here holds a slot of MAX_CONCURRENT_CONTAINERS (1000 is the most it may be).
    MAX_CONCURRENT_CONTAINERS: '1000',
    ...database.env,
  });
  const app = await createApp(config);
  await app.init();
  const lifecycle = app.get(ContainerLifecycleManager);
  const sampler = app.get(UsageSampler);
  const latest = app.get(LatestUsageStore);

  const ids: string[] = [];
  await forEachLimited(CONTAINERS, 10, async () => {
    const id = await lifecycle.createContainer(
      'bench',
      null,
      { image: BENCH_IMAGE, command: ['sleep', '3600'], labels: { [BENCH_LABEL]: 'monitoring' } },
      { memoryMB: 32, pidsLimit: 16 },
    );
    await lifecycle.start(id);
    ids.push(id);
  });
  const engineIds = await Promise.all(ids.map(async (id) => (await lifecycle.get(id)).engineId!));

  // Watch the rounds for DURATION_S.
  const rounds: Array<{ wallMs: number; cpuMs: number; sampled: number; oldestAgeMs: number }> = [];
  let seen = sampler.last?.at.getTime() ?? 0;
  // The rounds read samples the engine streams in between; the honest CPU cost of monitoring is the whole process's
  // CPU over the window (streams, rounds, history writes), divided by the rounds.
  let windowCpu: NodeJS.CpuUsage | null = null;
  const until = Date.now() + DURATION_S * 1000;
  while (Date.now() < until) {
    await new Promise((resolve) => setTimeout(resolve, 20));
    const last = sampler.last;
    if (!last || last.at.getTime() === seen) continue;
    seen = last.at.getTime();
    if (!windowCpu) windowCpu = process.cpuUsage();
    const ages = latest.all().map((s) => (s.usage ? Date.now() - s.usage.sampledAt.getTime() : Infinity));
    rounds.push({ wallMs: last.wallMs, cpuMs: last.cpuMs, sampled: last.sampled, oldestAgeMs: Math.max(...ages) });
  }
  const windowUsage = process.cpuUsage(windowCpu ?? undefined);
  // The first round opens the streams and finds no sample yet: leave it out.
  const measured = rounds.slice(1);
  const processCpuPerRoundMs = (windowUsage.user + windowUsage.system) / 1000 / Math.max(1, measured.length);

  const cli = [] as Array<{ wallMs: number; cpuMs: number }>;
  for (let i = 0; i < CLI_PASSES; i++) cli.push(dockerStatsPass(engineIds));

  await app.close();
  const leftovers = spawnSync('docker', ['ps', '-aq', '--filter', `label=${BENCH_LABEL}=monitoring`], {
    encoding: 'utf8',
  })
    .stdout.split('\n')
    .filter(Boolean);
  if (leftovers.length > 0) spawnSync('docker', ['rm', '-f', ...leftovers]);
  database.dispose();

  const stat = (values: number[]) => ({
    p50: round(median(values)),
    p95: round(percentile(values, 95)),
    max: round(Math.max(...values)),
  });
  const serviceWall = stat(measured.map((r) => r.wallMs));
  const serviceCpu = stat(measured.map((r) => r.cpuMs));
  const cliWall = stat(cli.map((c) => c.wallMs));
  const cliCpu = stat(cli.map((c) => c.cpuMs));
  report('monitoring', {
    benchmark: 'monitoring',
    description: `${CONTAINERS} running containers sampled every ${INTERVAL_MS} ms for ${DURATION_S} s, beside docker stats --no-stream over the same containers`,
    database: process.env.BENCH_DATABASE_URL ? 'postgres' : 'sqlite',
    goal: 'a round within a quarter of the interval, and cheaper than the docker CLI pass',
    at: new Date().toISOString(),
    containers: CONTAINERS,
    intervalMs: INTERVAL_MS,
    rounds: measured.length,
    samplesPerRound: stat(measured.map((r) => r.sampled)),
    service: {
      roundWallMs: serviceWall,
      roundCpuMs: serviceCpu,
      processCpuPerIntervalMs: round(processCpuPerRoundMs),
      oldestSampleAgeMs: stat(measured.map((r) => r.oldestAgeMs)),
    },
    dockerStatsNoStream: { passes: CLI_PASSES, wallMs: cliWall, cpuMs: cliCpu },
    ratios: {
      roundWallToQuarterInterval: round(serviceWall.p50 / (INTERVAL_MS / 4), 3),
      roundWallToCli: round(serviceWall.p50 / cliWall.p50, 3),
      processCpuPerIntervalToCli: round(processCpuPerRoundMs / cliCpu.p50, 3),
    },
  });
}

/** One `docker stats --no-stream` over the containers, with the CLI's own user+system CPU time as bash measures it. */
function dockerStatsPass(engineIds: string[]): { wallMs: number; cpuMs: number } {
  const started = performance.now();
  const result = spawnSync(
    'bash',
    ['-c', `TIMEFORMAT='%U %S'; { time docker stats --no-stream ${engineIds.join(' ')} >/dev/null; } 2>&1`],
    { encoding: 'utf8' },
  );
  const wallMs = performance.now() - started;
  const [user, system] = result.stdout.trim().split(/\s+/).slice(-2).map(Number);
  return { wallMs, cpuMs: (user + system) * 1000 };
}

main().catch((error) => {
  new Logger('bench:monitoring').error(error instanceof Error ? error.stack : String(error));
  process.exit(1);
});
