/**
 * Attacks 4 and 5 of issue 13 as load, against the service in a process of its own with production settings:
 *
 * (a) a flood of mutating calls without a valid API key (no key, an unknown key, paths that name no route) from
 *     FLOOD_CONNECTIONS connections for FLOOD_SECONDS, while a viewer key reads `GET /api/containers` at a steady
 *     READ_RATE a second: the audit table's row count before and after, and the reads' latency during the flood
 *     beside the same reads with no flood, measured first in the same run. The goal: p99 under 50 ms.
 * (b) SSE_ATTEMPTS event-stream connection attempts from one viewer key, SSE_CONCURRENCY at a time, each accepted
 *     stream held open: how many were accepted and how many refused (by error code), the service's RSS before, at
 *     its peak and after, and whether another key still gets a stream.
 *
 * The flood runs in a process of its own (this file, with --flood), so the reader's timings are not the flood's
 * event loop. JSON out, and bench/results/flood.json.
 *
 *   npm run bench:security     FLOOD_SECONDS=60 FLOOD_CONNECTIONS=50 BASELINE_SECONDS=15 READ_RATE=20
 *                              SSE_ATTEMPTS=10000 SSE_CONCURRENCY=100
 */
import 'reflect-metadata';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import { resolve } from 'node:path';
import { AppConfigModule, loadAppConfig } from '@app/common';
import { AuditLogRepository, PersistenceModule } from '@app/persistence';
import { Logger, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import autocannon from 'autocannon';
import { benchDatabaseEnv, forEachLimited, median, percentile, report, round, startServiceProcess } from './support';

const FLOOD_SECONDS = Number(process.env.FLOOD_SECONDS ?? 60);
const FLOOD_CONNECTIONS = Number(process.env.FLOOD_CONNECTIONS ?? 50);
const BASELINE_SECONDS = Number(process.env.BASELINE_SECONDS ?? Math.min(15, FLOOD_SECONDS));
const READ_RATE = Number(process.env.READ_RATE ?? 20);
const SSE_ATTEMPTS = Number(process.env.SSE_ATTEMPTS ?? 10_000);
const SSE_CONCURRENCY = Number(process.env.SSE_CONCURRENCY ?? 100);
const KEYS = {
  operator: 'bench-flood-operator-key-0123456789',
  reader: 'bench-flood-reader-key-0123456789',
  streamer: 'bench-flood-streamer-key-0123456789',
  other: 'bench-flood-other-viewer-key-0123456789',
};
const ROOT = resolve(__dirname, '..');
const TS_NODE = ['-r', 'ts-node/register/transpile-only', '-r', 'tsconfig-paths/register'];

async function main() {
  const database = benchDatabaseEnv();
  // Production settings, request logging included, and every limit at its default.
  const env = {
    NODE_ENV: 'production',
    LOG_LEVEL: 'info',
    PORT: '0',
    RUNNERHUB_API_KEYS: [
      `${KEYS.operator}:operator`,
      `${KEYS.reader}:viewer`,
      `${KEYS.streamer}:viewer`,
      `${KEYS.other}:viewer`,
    ].join(','),
    ...database.env,
  };
  const service = await startServiceProcess(env);
  const base = `http://127.0.0.1:${service.port}`;
  try {
    const auditRowsBefore = await auditRows(base);
    // Warm-up, not measured: the first calls of a fresh process run through code not yet optimised.
    await readSteadily(base, 3);
    const baseline = await readSteadily(base, BASELINE_SECONDS);
    const flooding = await startFlood(base);
    const [flood, duringFlood] = await Promise.all([flooding.result, readSteadily(base, FLOOD_SECONDS)]);
    const auditRowsRightAfter = await auditRows(base);
    const streams = await attemptStreams(base, service.pid);
    await service.stop();
    // After the stop, which writes the last minute's summary of refused calls.
    const audit = await auditTable(env);
    report('flood', {
      benchmark: 'flood',
      description:
        `(a) ${FLOOD_SECONDS}s flood of mutating calls without a valid key from ${FLOOD_CONNECTIONS} connections, ` +
        `a viewer reading GET /api/containers ${READ_RATE}/s meanwhile and ${BASELINE_SECONDS}s before it alone; ` +
        `(b) ${SSE_ATTEMPTS} event-stream attempts from one viewer key, ${SSE_CONCURRENCY} at a time`,
      database: process.env.BENCH_DATABASE_URL ? 'postgres' : 'sqlite',
      goal: 'audit table bounded; authenticated read p99 < 50 ms during the flood; SSE cap holds, RSS bounded',
      at: new Date().toISOString(),
      flood: {
        ...flood,
        auditRows: {
          before: auditRowsBefore,
          rightAfter: auditRowsRightAfter,
          afterStop: audit.total,
          summaryRows: audit.summaries,
        },
        reads: {
          baseline,
          duringFlood,
          p99Ratio: round(duringFlood.latencyMs.p99 / baseline.latencyMs.p99, 2),
          goalMet: duringFlood.latencyMs.p99 < 50,
        },
      },
      streams,
    });
  } finally {
    await service.stop();
    database.dispose();
  }
}

/**
 * The flood, in a child process (autocannon in this one would share the reader's event loop). Resolves once the
 * child has loaded and is about to start, so that its start-up (compiling TypeScript) is not measured as the flood.
 */
async function startFlood(base: string): Promise<{ result: Promise<Record<string, unknown>> }> {
  const child = spawn(process.execPath, [...TS_NODE, __filename, '--flood', base], {
    cwd: ROOT,
    env: { ...process.env, TS_NODE_PROJECT: 'tsconfig.json' },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let output = '';
  let signalReady!: () => void;
  const ready = new Promise<void>((resolve) => (signalReady = resolve));
  child.stdout.on('data', (chunk: Buffer) => {
    output += chunk.toString();
    if (output.startsWith(READY)) signalReady();
  });
  const result = new Promise<Record<string, unknown>>((done, fail) =>
    child.once('exit', (code) =>
      code === 0
        ? done(JSON.parse(output.slice(READY.length)) as Record<string, unknown>)
        : fail(new Error(`the flood exited with ${code}`)),
    ),
  );
  await Promise.race([ready, result]);
  return { result };
}

const READY = 'ready\n';

/** The --flood child: autocannon against every kind of stranger's call, in turn on each connection. */
async function flood(base: string): Promise<void> {
  process.stdout.write(READY);
  const json = { 'content-type': 'application/json' };
  const stranger = () => randomBytes(6).toString('hex');
  const result = await autocannon({
    url: base,
    connections: FLOOD_CONNECTIONS,
    duration: FLOOD_SECONDS,
    requests: [
      { method: 'POST', path: '/api/containers', headers: json, body: '{"config":{"image":"x"}}' },
      {
        method: 'DELETE',
        setupRequest: (request) => ({
          ...request,
          path: `/api/containers/${stranger()}`,
          headers: { authorization: `Bearer unknown-${stranger()}-key` },
        }),
      },
      {
        method: 'PUT',
        setupRequest: (request) => ({ ...request, path: `/api/${stranger()}/${'x'.repeat(1_500)}`, headers: json }),
        body: '{}',
      },
    ],
  });
  process.stdout.write(
    JSON.stringify({
      requests: result.requests.total,
      requestsPerSecond: round(result.requests.average),
      statuses: Object.fromEntries(
        Object.entries(result.statusCodeStats ?? {}).map(([status, { count }]) => [status, count ?? 0]),
      ),
      errors: result.errors,
      timeouts: result.timeouts,
    }),
  );
}

/**
 * GET /api/containers as a viewer, READ_RATE a second on a schedule that does not wait for slow answers (so a stall
 * shows in the latencies instead of thinning the samples), for `seconds`.
 */
async function readSteadily(base: string, seconds: number) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 16 });
  const latencies: number[] = [];
  const statuses: Record<string, number> = {};
  const total = Math.round(seconds * READ_RATE);
  const started = performance.now();
  const pending: Array<Promise<void>> = [];
  for (let i = 0; i < total; i++) {
    const due = started + (i * 1_000) / READ_RATE;
    const wait = due - performance.now();
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    pending.push(
      get(`${base}/api/containers?limit=50`, KEYS.reader, agent).then(({ status, ms }) => {
        latencies.push(ms);
        statuses[status] = (statuses[status] ?? 0) + 1;
      }),
    );
  }
  await Promise.all(pending);
  agent.destroy();
  return {
    reads: latencies.length,
    statuses,
    latencyMs: {
      p50: round(median(latencies)),
      p99: round(percentile(latencies, 99)),
      max: round(Math.max(...latencies)),
    },
  };
}

function get(url: string, key: string, agent: http.Agent): Promise<{ status: number; ms: number }> {
  const started = performance.now();
  return new Promise((done, fail) => {
    const request = http.get(url, { agent, headers: { authorization: `Bearer ${key}` } }, (response) => {
      response.resume();
      response.once('end', () => done({ status: response.statusCode ?? 0, ms: performance.now() - started }));
    });
    request.once('error', fail);
  });
}

/** (b): SSE_ATTEMPTS stream openings from one key, each accepted one held; then another key; then all closed. */
async function attemptStreams(base: string, pid: number) {
  const rssBefore = rssMiB(pid);
  let rssPeak = rssBefore;
  const sampler = setInterval(() => (rssPeak = Math.max(rssPeak, rssMiB(pid))), 100);
  const held: http.ClientRequest[] = [];
  const outcomes: Record<string, number> = {};
  const started = performance.now();
  await forEachLimited(SSE_ATTEMPTS, SSE_CONCURRENCY, async () => {
    const outcome = await openStream(base, KEYS.streamer, held);
    outcomes[outcome] = (outcomes[outcome] ?? 0) + 1;
  });
  const seconds = (performance.now() - started) / 1_000;
  const otherKey = await openStream(base, KEYS.other, held);
  clearInterval(sampler);
  rssPeak = Math.max(rssPeak, rssMiB(pid));
  for (const request of held) request.destroy();
  await new Promise((resolve) => setTimeout(resolve, 2_000));
  return {
    attempts: SSE_ATTEMPTS,
    seconds: round(seconds),
    outcomes,
    accepted: outcomes.accepted ?? 0,
    refused: SSE_ATTEMPTS - (outcomes.accepted ?? 0),
    otherKeyGetsAStream: otherKey === 'accepted',
    serviceRssMiB: { before: rssBefore, peak: rssPeak, after: rssMiB(pid) },
  };
}

/** `accepted` (and the request kept open in `held`), or the refusal's error code, or the connection's error. */
function openStream(base: string, key: string, held: http.ClientRequest[]): Promise<string> {
  return new Promise((done) => {
    const request = http.get(
      `${base}/api/events`,
      { agent: false, headers: { authorization: `Bearer ${key}`, accept: 'text/event-stream' } },
      (response) => {
        if (response.statusCode === 200) {
          held.push(request);
          response.resume();
          return done('accepted');
        }
        let body = '';
        response.on('data', (chunk: Buffer) => (body += chunk.toString()));
        response.once('end', () => {
          const code = (JSON.parse(body) as { error?: { code?: string } }).error?.code;
          done(`${response.statusCode} ${code ?? 'unknown'}`);
        });
      },
    );
    request.once('error', (error) => done(`error ${(error as NodeJS.ErrnoException).code ?? error.message}`));
  });
}

function rssMiB(pid: number): number {
  const line = readFileSync(`/proc/${pid}/status`, 'utf8')
    .split('\n')
    .find((candidate) => candidate.startsWith('VmRSS:'));
  return round(Number(/(\d+)/.exec(line ?? '')?.[1] ?? 0) / 1024);
}

async function auditRows(base: string): Promise<number> {
  const response = await fetch(`${base}/api/audit?limit=1`, { headers: { authorization: `Bearer ${KEYS.operator}` } });
  return ((await response.json()) as { page: { total: number } }).page.total;
}

/** The audit table read straight from the database, once the service has stopped. */
async function auditTable(env: Record<string, string>) {
  @Module({ imports: [AppConfigModule.forRoot(loadAppConfig(env)), PersistenceModule] })
  class ReadModule {}
  const context = await NestFactory.createApplicationContext(ReadModule, { logger: ['error'] });
  try {
    const audit = context.get(AuditLogRepository);
    const { total } = await audit.list({}, { limit: 1, offset: 0 });
    const summaries = await audit.list({ action: 'auth.anonymous-refused' }, { limit: 100, offset: 0 });
    return { total, summaries: summaries.items.map((row) => row.details) };
  } finally {
    await context.close();
  }
}

const run = process.argv[2] === '--flood' ? flood(process.argv[3]) : main();
run.catch((error: unknown) => {
  new Logger('bench:security').error(error instanceof Error ? error.stack : String(error));
  process.exit(1);
});
