/**
 * Gathers every bench/results/<name>.json into bench/results/latest.json (the machine's facts and each result keyed
 * by name) and bench/results/latest.md (one Markdown table, one row per headline figure: RunnerHub beside its raw
 * engine baseline from the same run, the ratio, the goal and whether it was met). Prints the table too.
 *
 *   npm run bench:report
 */
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, release, totalmem } from 'node:os';
import { join, resolve } from 'node:path';
import Database from 'better-sqlite3';
import { Client } from 'pg';

const RESULTS = resolve(__dirname, 'results');
const OUTPUTS = new Set(['latest.json']);
const ORDER = ['lifecycle', 'api', 'jobs', 'runner-online', 'monitoring', 'cleanup', 'load'];

interface Stat {
  p50: number;
  p95: number;
  max: number;
}
interface LifecycleResult {
  /** `serviceMs` through the HTTP API of the service in its own process; `managerMs` in results from before issue 15. */
  results: Array<{
    concurrency: number;
    containers: number;
    rawMs: number;
    serviceMs?: number;
    managerMs?: number;
    ratio: number;
  }>;
}
interface AutocannonSummary {
  requestsPerSecond: number;
  latencyMs: { p50: number; p90: number; p99: number; max: number };
}
interface ApiResult {
  records: number;
  results: {
    listContainers: AutocannonSummary;
    getContainer: AutocannonSummary;
    /** Absent in results from before it was measured. */
    livenessFloor?: AutocannonSummary;
    rawEngineListContainers: AutocannonSummary;
  };
}
interface JobsResult {
  startLatencyMs: { service: Stat; rawCreateStart: Stat };
  overheadMs: { p50: number; p95: number };
  burst: { jobs: number; limit: number; serviceMs: number; rawMs: number; ratio: number };
}
interface RunnerOnlineResult {
  webhookToOnlineMs: { service: Stat; raw: Stat };
  overheadMs: { p50: number; p95: number };
  coldPullMs: { service: Stat; raw: Stat; ratio: number };
  warmPool?: {
    webhookToStartedOnRunnerMs: { warm: Stat; cold: Stat };
    webhookToAssignedInRunnerHubMs: Stat;
    ratioOfColdP50: number;
    assignedRatioOfColdP50?: number;
    hits: number;
    misses: number;
  };
}
interface MonitoringResult {
  containers: number;
  intervalMs: number;
  service: { roundWallMs: Stat; processCpuPerIntervalMs: number };
  dockerStatsNoStream: { wallMs: Stat; cpuMs: Stat };
  ratios: { roundWallToQuarterInterval: number; roundWallToCli: number; processCpuPerIntervalToCli: number };
}
interface CleanupResult {
  containers: number;
  concurrency: number;
  serviceScanMs: number;
  rawRemoveMs: number;
  ratio: number;
}
interface LoadResult {
  durationS: number;
  overall: { requestsPerSecond: number; errorRate: number; requests: number; errors: number; non2xx: number };
  routes: Record<string, { requestsPerSecond: number; latencyMs: { p50: number; p99: number } }>;
  jobs: { submitted: number; completed: number; failed: number };
  rssMiB: { start: number; end: number; slopeMiBPerMin: number; slopeStandardErrorMiBPerMin?: number | null };
}

interface Row {
  benchmark: string;
  measure: string;
  service: string;
  baseline: string;
  ratio: string;
  goal: string;
  met: string;
}

const NONE = '—';
const fmt = (value: number) => (Number.isInteger(value) ? String(value) : value.toFixed(1));
const ratio = (value: number) => value.toFixed(value >= 10 ? 1 : 3);
const ratioOf = (service: number, baseline: number) => (baseline > 0 ? ratio(service / baseline) : 'n/a');
const yesNo = (ok: boolean, detail?: string) => `${ok ? 'yes' : '**no**'}${detail ? ` (${detail})` : ''}`;

function lifecycleRows(r: LifecycleResult): Row[] {
  return r.results.map((c) => ({
    benchmark: 'lifecycle',
    measure: `create+start+stop+remove of ${c.containers}${c.serviceMs !== undefined ? ' through the HTTP API' : ''}, ${c.concurrency === 1 ? 'one at a time' : `${c.concurrency} at a time`} (ms)`,
    service: fmt((c.serviceMs ?? c.managerMs)!),
    baseline: fmt(c.rawMs),
    ratio: ratio(c.ratio),
    goal: '≤ 1.10× raw',
    met: yesNo(c.ratio <= 1.1),
  }));
}

function apiRows(r: ApiResult): Row[] {
  const engine = r.results.rawEngineListContainers;
  const rows: Row[] = [];
  for (const [label, side] of [
    ['GET /api/containers (list, filtered)', r.results.listContainers],
    ['GET /api/containers/:id', r.results.getContainer],
  ] as const) {
    rows.push(
      {
        benchmark: 'api',
        measure: `${label}: requests/s`,
        service: fmt(side.requestsPerSecond),
        baseline: fmt(engine.requestsPerSecond),
        ratio: ratioOf(side.requestsPerSecond, engine.requestsPerSecond),
        goal: NONE,
        met: NONE,
      },
      {
        benchmark: 'api',
        measure: `${label}: latency p50 / p99 (ms)`,
        service: `${fmt(side.latencyMs.p50)} / ${fmt(side.latencyMs.p99)}`,
        baseline: `${fmt(engine.latencyMs.p50)} / ${fmt(engine.latencyMs.p99)}`,
        ratio: `${ratioOf(side.latencyMs.p50, engine.latencyMs.p50)} / ${ratioOf(side.latencyMs.p99, engine.latencyMs.p99)}`,
        goal: 'p99 < 20 ms',
        met: yesNo(side.latencyMs.p99 < 20),
      },
    );
  }
  const floor = r.results.livenessFloor;
  if (floor) {
    rows.push({
      benchmark: 'api',
      measure: 'floor: GET /health (no key, no database) through the same server: latency p50 / p99 (ms), requests/s',
      service: `${fmt(floor.latencyMs.p50)} / ${fmt(floor.latencyMs.p99)}, ${fmt(floor.requestsPerSecond)}/s`,
      baseline: `${fmt(engine.latencyMs.p50)} / ${fmt(engine.latencyMs.p99)}`,
      ratio: NONE,
      goal: NONE,
      met: NONE,
    });
  }
  return rows;
}

function jobsRows(r: JobsResult): Row[] {
  const { service, rawCreateStart } = r.startLatencyMs;
  return [
    {
      benchmark: 'jobs',
      measure: 'job start latency p50, POST /api/jobs to running (ms)',
      service: fmt(service.p50),
      baseline: fmt(rawCreateStart.p50),
      ratio: ratioOf(service.p50, rawCreateStart.p50),
      goal: 'p50 overhead < 50 ms',
      met: yesNo(r.overheadMs.p50 < 50, `+${fmt(r.overheadMs.p50)} ms`),
    },
    {
      benchmark: 'jobs',
      measure: 'job start latency p95 (ms)',
      service: fmt(service.p95),
      baseline: fmt(rawCreateStart.p95),
      ratio: ratioOf(service.p95, rawCreateStart.p95),
      goal: NONE,
      met: `${NONE} (+${fmt(r.overheadMs.p95)} ms)`,
    },
    {
      benchmark: 'jobs',
      measure: `burst of ${r.burst.jobs} jobs under a limit of ${r.burst.limit} (ms)`,
      service: fmt(r.burst.serviceMs),
      baseline: fmt(r.burst.rawMs),
      ratio: ratio(r.burst.ratio),
      goal: NONE,
      met: NONE,
    },
  ];
}

function runnerOnlineRows(r: RunnerOnlineResult): Row[] {
  const { service, raw } = r.webhookToOnlineMs;
  return [
    {
      benchmark: 'runner-online',
      measure: 'webhook to runner online p50, cached image (ms)',
      service: fmt(service.p50),
      baseline: fmt(raw.p50),
      ratio: ratioOf(service.p50, raw.p50),
      goal: 'p50 overhead < 50 ms',
      met: yesNo(r.overheadMs.p50 < 50, `+${fmt(r.overheadMs.p50)} ms`),
    },
    {
      benchmark: 'runner-online',
      measure: 'webhook to runner online p95 (ms)',
      service: fmt(service.p95),
      baseline: fmt(raw.p95),
      ratio: ratioOf(service.p95, raw.p95),
      goal: NONE,
      met: `${NONE} (+${fmt(r.overheadMs.p95)} ms)`,
    },
    ...warmPoolRows(r),
    {
      benchmark: 'runner-online',
      measure: 'cold pull of the runner image from a local registry p50 (ms)',
      service: fmt(r.coldPullMs.service.p50),
      baseline: fmt(r.coldPullMs.raw.p50),
      ratio: ratio(r.coldPullMs.ratio),
      goal: NONE,
      met: NONE,
    },
  ];
}

/** The warm pool beside the cold path of the same run: the baseline column is the cold path, not the raw engine. */
function warmPoolRows(r: RunnerOnlineResult): Row[] {
  if (!r.warmPool) return [];
  const { warm, cold } = r.warmPool.webhookToStartedOnRunnerMs;
  const assigned = r.warmPool.webhookToAssignedInRunnerHubMs;
  // Results written before the bench reported it carry the two medians only.
  const assignedRatio = r.warmPool.assignedRatioOfColdP50 ?? assigned.p50 / cold.p50;
  return [
    {
      benchmark: 'runner-online',
      measure: 'warm pool of 2: webhook to job started on a runner p50 (ms); baseline: the cold path',
      service: fmt(warm.p50),
      baseline: fmt(cold.p50),
      ratio: ratio(r.warmPool.ratioOfColdP50),
      goal: 'p50 < 100 ms and < 10 % of cold',
      met: yesNo(warm.p50 < 100 && r.warmPool.ratioOfColdP50 < 0.1),
    },
    {
      benchmark: 'runner-online',
      measure: `warm pool of 2: webhook to RunnerHub job assigned its runner p50 / p95 (ms); hits ${r.warmPool.hits}, misses ${r.warmPool.misses}`,
      service: `${fmt(assigned.p50)} / ${fmt(assigned.p95)}`,
      baseline: fmt(cold.p50),
      ratio: ratio(assignedRatio),
      goal: 'p50 < 100 ms and < 10 % of cold',
      met: yesNo(assigned.p50 < 100 && assignedRatio < 0.1),
    },
  ];
}

function monitoringRows(r: MonitoringResult): Row[] {
  const quarter = r.intervalMs / 4;
  return [
    {
      benchmark: 'monitoring',
      measure: `sampling round over ${r.containers} containers, wall p50 (ms); baseline: one docker stats --no-stream`,
      service: fmt(r.service.roundWallMs.p50),
      baseline: fmt(r.dockerStatsNoStream.wallMs.p50),
      ratio: ratio(r.ratios.roundWallToCli),
      goal: `≤ ¼ interval (${fmt(quarter)} ms)`,
      met: yesNo(r.service.roundWallMs.p50 <= quarter, `${r.ratios.roundWallToQuarterInterval} of it`),
    },
    {
      benchmark: 'monitoring',
      measure: `service process CPU per ${r.intervalMs} ms interval (ms); baseline: CPU of one CLI pass`,
      service: fmt(r.service.processCpuPerIntervalMs),
      baseline: fmt(r.dockerStatsNoStream.cpuMs.p50),
      ratio: ratio(r.ratios.processCpuPerIntervalToCli),
      goal: '< one CLI pass',
      met: yesNo(r.ratios.processCpuPerIntervalToCli < 1),
    },
  ];
}

function cleanupRows(r: CleanupResult): Row[] {
  return [
    {
      benchmark: 'cleanup',
      measure: `one scan removing ${r.containers} expired containers, ${r.concurrency} at a time (ms)`,
      service: fmt(r.serviceScanMs),
      baseline: fmt(r.rawRemoveMs),
      ratio: ratio(r.ratio),
      goal: NONE,
      met: NONE,
    },
  ];
}

/** The mixed load has no raw baseline: it is read on its own (error rate, latency, memory trend). */
function loadRows(r: LoadResult): Row[] {
  const row = (measure: string, service: string): Row => ({
    benchmark: 'load',
    measure,
    service,
    baseline: NONE,
    ratio: NONE,
    goal: NONE,
    met: NONE,
  });
  return [
    row(`mixed read/write load for ${r.durationS} s: requests/s, all routes`, fmt(r.overall.requestsPerSecond)),
    row('error rate (non-2xx and socket errors)', `${(r.overall.errorRate * 100).toFixed(2)} %`),
    ...Object.entries(r.routes).map(([route, s]) =>
      row(`${route}: latency p50 / p99 (ms)`, `${fmt(s.latencyMs.p50)} / ${fmt(s.latencyMs.p99)}`),
    ),
    row('jobs submitted / completed in the window', `${r.jobs.submitted} / ${r.jobs.completed}`),
    row(
      'service RSS start → end (MiB), least-squares slope ± standard error (MiB/min)',
      `${fmt(r.rssMiB.start)} → ${fmt(r.rssMiB.end)}, ${r.rssMiB.slopeMiBPerMin.toFixed(2)}` +
        (typeof r.rssMiB.slopeStandardErrorMiBPerMin === 'number'
          ? ` ± ${r.rssMiB.slopeStandardErrorMiBPerMin.toFixed(2)}`
          : ''),
    ),
  ];
}

const ROWS: Record<string, (result: never) => Row[]> = {
  lifecycle: lifecycleRows,
  api: apiRows,
  jobs: jobsRows,
  'runner-online': runnerOnlineRows,
  monitoring: monitoringRows,
  cleanup: cleanupRows,
  load: loadRows,
};

function readResults(): Record<string, Record<string, unknown>> {
  const names = readdirSync(RESULTS)
    .filter((file) => file.endsWith('.json') && !OUTPUTS.has(file))
    .map((file) => file.slice(0, -'.json'.length))
    .sort((a, b) => rank(a) - rank(b) || a.localeCompare(b));
  const results: Record<string, Record<string, unknown>> = {};
  for (const name of names) {
    results[name] = JSON.parse(readFileSync(join(RESULTS, `${name}.json`), 'utf8')) as Record<string, unknown>;
  }
  return results;
}

function rank(name: string): number {
  const index = ORDER.indexOf(name);
  return index < 0 ? ORDER.length : index;
}

async function machine(results: Record<string, Record<string, unknown>>) {
  const cpu = cpus();
  return {
    cpus: cpu.length,
    cpuModel: cpu[0]?.model.trim() ?? 'unknown',
    memoryMiB: Math.round(totalmem() / 1024 / 1024),
    kernel: release(),
    node: process.version,
    dockerEngine: command('docker', ['version', '--format', '{{.Server.Version}} (API {{.Server.APIVersion}})']),
    database: await database(results),
  };
}

/** What the results ran on: the embedded SQLite (library and engine versions) or BENCH_DATABASE_URL's PostgreSQL. */
async function database(results: Record<string, Record<string, unknown>>): Promise<string> {
  const kinds = new Set(Object.values(results).map((r) => (typeof r.database === 'string' ? r.database : 'sqlite')));
  const described: string[] = [];
  if (kinds.has('sqlite')) {
    const db = new Database(':memory:');
    const { version } = db.prepare('select sqlite_version() as version').get() as { version: string };
    db.close();
    const library = (
      JSON.parse(readFileSync(require.resolve('better-sqlite3/package.json'), 'utf8')) as { version: string }
    ).version;
    described.push(`SQLite ${version} (embedded, better-sqlite3 ${library}, WAL)`);
  }
  if (kinds.has('postgres')) {
    let version = 'version unknown: BENCH_DATABASE_URL is not set now';
    if (process.env.BENCH_DATABASE_URL) {
      const client = new Client({ connectionString: process.env.BENCH_DATABASE_URL });
      try {
        await client.connect();
        const answer = await client.query<{ server_version: string }>('show server_version');
        version = answer.rows[0].server_version;
      } catch (error) {
        version = `version unknown: ${error instanceof Error ? error.message : String(error)}`;
      } finally {
        await client.end().catch(() => undefined);
      }
    }
    described.push(`PostgreSQL ${version}`);
  }
  return described.join('; ');
}

function command(file: string, args: string[]): string {
  try {
    return execFileSync(file, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
  } catch (error) {
    return `unknown (${file} failed: ${error instanceof Error ? error.message.split('\n')[0] : String(error)})`;
  }
}

function markdown(rows: Row[], facts: Awaited<ReturnType<typeof machine>>, results: Record<string, unknown>): string {
  const cell = (text: string) => text.replace(/\|/g, '\\|');
  const header = ['benchmark', 'measure', 'RunnerHub', 'raw engine baseline', 'ratio', 'goal', 'met?'];
  const lines = [
    `| ${header.join(' | ')} |`,
    `| ${header.map(() => '---').join(' | ')} |`,
    ...rows.map(
      (r) => `| ${[r.benchmark, r.measure, r.service, r.baseline, r.ratio, r.goal, r.met].map(cell).join(' | ')} |`,
    ),
  ];
  const when = Object.entries(results)
    .map(([name, r]) => `${name} ${(r as { at?: string }).at ?? 'unknown'}`)
    .join(', ');
  return [
    '# Benchmark results',
    '',
    `${facts.cpus} × ${facts.cpuModel}, ${facts.memoryMiB} MiB, Linux ${facts.kernel}, Node ${facts.node}, ` +
      `Docker ${facts.dockerEngine}, ${facts.database}.`,
    'Ratios are RunnerHub over the raw engine measured in the same run (for requests/s higher is better, ' +
      'for times lower is better).',
    '',
    ...lines,
    '',
    `Measured at: ${when}.`,
    '',
  ].join('\n');
}

async function main() {
  const results = readResults();
  const facts = await machine(results);
  const rows: Row[] = [];
  for (const [name, result] of Object.entries(results)) {
    const toRows = ROWS[name];
    if (!toRows) {
      process.stderr.write(`bench:report: no table rows for ${name}.json (kept in latest.json only)\n`);
      continue;
    }
    try {
      rows.push(...toRows(result as never));
    } catch (error) {
      throw new Error(`bench/results/${name}.json does not have the shape bench:report expects: ${String(error)}`);
    }
  }
  const generatedAt = new Date().toISOString();
  writeFileSync(join(RESULTS, 'latest.json'), `${JSON.stringify({ generatedAt, machine: facts, results }, null, 2)}\n`);
  const text = markdown(rows, facts, results);
  writeFileSync(join(RESULTS, 'latest.md'), text);
  process.stdout.write(text);
}

main().catch((error) => {
  process.stderr.write(
    `bench:report failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
  );
  process.exit(1);
});
