import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { mkdtempSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { toCreateOptions } from '@app/docker';
import { ContainerConfig, ContainerLimits, ContainerSpecBuilder } from '@app/lifecycle';

export const BENCH_IMAGE = process.env.TEST_IMAGE ?? 'runnerhub-test/busybox:1';
export const BENCH_LABEL = 'app.runnerhub-bench';

/** A throw-away embedded database, or BENCH_DATABASE_URL's PostgreSQL when set. */
/**
 * The database of a benchmark's service (SQLite in a temp dir, or BENCH_DATABASE_URL), and no pull of the default
 * runner image at start: benchmarks reach no registry but the local one.
 */
export function benchDatabaseEnv(): { env: Record<string, string>; dispose(): void } {
  const offline = { RUNNER_IMAGE_PREPULL: 'false' };
  if (process.env.BENCH_DATABASE_URL) {
    return { env: { ...offline, DATABASE_URL: process.env.BENCH_DATABASE_URL }, dispose() {} };
  }
  const dir = mkdtempSync(join(tmpdir(), 'runnerhub-bench-'));
  return { env: { ...offline, RUNNERHUB_DATA_DIR: dir }, dispose: () => rmSync(dir, { recursive: true, force: true }) };
}

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

export function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

export const round = (value: number, digits = 1) => Number(value.toFixed(digits));

/**
 * The CPU time (user + system, ms) a process has used so far, from /proc (Linux). On a shared machine the CPU a
 * request costs moves much less with the neighbours' load than its latency does.
 */
export function processCpuMs(pid: number): number {
  // stat(5): utime and stime are fields 14 and 15, in clock ticks of 10 ms; the fields after the `(comm)` start at 3.
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

/** p50, p95, min and max of a set of timings, rounded to a tenth. */
export function latencySummary(values: number[]) {
  return {
    p50: round(median(values)),
    p95: round(percentile(values, 95)),
    min: round(Math.min(...values)),
    max: round(Math.max(...values)),
  };
}

/** Runs `work` for 0..count-1 with at most `concurrency` in flight. */
export async function forEachLimited(count: number, concurrency: number, work: (i: number) => Promise<void>) {
  let next = 0;
  const workers = Array.from({ length: Math.min(concurrency, count) }, async () => {
    while (next < count) await work(next++);
  });
  await Promise.all(workers);
}

/** Prints the result as JSON on stdout and keeps a copy in bench/results/<name>.json. */
export function report(name: string, result: unknown): void {
  const dir = resolve(__dirname, 'results');
  mkdirSync(dir, { recursive: true });
  const text = JSON.stringify(result, null, 2);
  writeFileSync(join(dir, `${name}.json`), `${text}\n`);
  process.stdout.write(`${text}\n`);
}

let rawSerial = 0;

/**
 * The create body RunnerHub would send for `request`, for the raw side of a benchmark: same host config, labels and
 * init, under a fresh name, so the two sides differ only in what RunnerHub does around the engine call.
 */
export async function rawCreateOptions(specs: ContainerSpecBuilder, request: ContainerConfig, limits: ContainerLimits) {
  const serial = ++rawSerial;
  const resolved = await specs.resolve(request, limits);
  const recordId = `00000000-0000-4000-8000-${String(serial).padStart(12, '0')}`;
  return toCreateOptions(
    specs.build(
      { recordId, name: `bench-raw-${process.pid}-${serial}`, runnerId: 'bench', jobId: null },
      request,
      resolved.limits,
      resolved.security,
    ),
  );
}

/**
 * Node options that make the service write a CPU profile into BENCH_CPU_PROFILE_DIR when it stops (none when unset),
 * to see where a benchmark's time goes: open the `.cpuprofile` in Chrome DevTools or read its top self-time frames.
 */
function cpuProfileArgs(): string[] {
  const dir = process.env.BENCH_CPU_PROFILE_DIR;
  if (!dir) return [];
  return ['--cpu-prof', `--cpu-prof-dir=${resolve(dir)}`, '-r', './bench/exit-on-sigterm.ts'];
}

/**
 * The service as a process of its own (`main.ts` under ts-node), as production runs it: the port it listens on once
 * it says so, its pid (for its memory) and a stop() that ends it with SIGTERM. With BENCH_CPU_PROFILE_DIR set it also
 * writes a CPU profile there (cpuProfileArgs).
 */
/**
 * `main.ts` under ts-node in a process of its own, from the project's root, with `env` and nothing else of this
 * process's environment but PATH (and the CPU profile's options when BENCH_CPU_PROFILE_DIR is set).
 */
export function spawnService(env: Record<string, string>): ChildProcessWithoutNullStreams {
  return spawn(
    process.execPath,
    [
      '-r',
      'ts-node/register/transpile-only',
      '-r',
      'tsconfig-paths/register',
      ...cpuProfileArgs(),
      'apps/runnerhub/src/main.ts',
    ],
    {
      cwd: resolve(__dirname, '..'),
      env: { PATH: process.env.PATH ?? '', TS_NODE_PROJECT: 'tsconfig.json', ...env },
    },
  );
}

export async function startServiceProcess(
  env: Record<string, string>,
): Promise<{ port: number; pid: number; stop(): Promise<void> }> {
  const child = spawnService(env);
  const exited = new Promise<void>((done) => child.once('exit', () => done()));
  let output = '';
  let listening = false;
  const port = await new Promise<number>((done, fail) => {
    const onData = (chunk: Buffer) => {
      // Past start-up only the request log flows: read it (so the pipe never blocks) and drop it.
      if (listening) return;
      output += chunk.toString();
      const match = /listening on port (\d+)/.exec(output);
      if (match) {
        listening = true;
        done(Number(match[1]));
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    void exited.then(() => fail(new Error(`the service exited before listening:\n${output}`)));
  });
  return {
    port,
    pid: child.pid!,
    stop: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      await exited;
    },
  };
}
