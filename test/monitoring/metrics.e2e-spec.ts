import { randomUUID } from 'node:crypto';
import {
  CONTAINER_STATES,
  ContainerEvent,
  ContainerResourceAlertPayload,
  ContainerState,
  ContainerTransitionPayload,
  JobEvent,
  JobState,
  JobTransitionPayload,
} from '@app/common';
import { DockerEngine } from '@app/docker';
import { EventEmitter2 } from '@nestjs/event-emitter';
import { Schemas } from '../client/client';
import { ApiSuite, startApiSuite } from '../support/api-suite';
import { testDatabaseKinds } from '../support/databases';
import { docker } from '../support/engine-cli';
import { TEST_IMAGE } from '../support/test-env';
import { waitFor } from '../support/wait-for';

type Container = Schemas['ContainerDto'];
const MIB = 1024 * 1024;
const STATS_INTERVAL_MS = 1_000;

const USAGE_GAUGES = [
  'runnerhub_container_cpu_percent',
  'runnerhub_container_memory_bytes',
  'runnerhub_container_memory_limit_bytes',
  'runnerhub_container_network_receive_bytes',
  'runnerhub_container_network_transmit_bytes',
  'runnerhub_container_block_read_bytes',
  'runnerhub_container_block_write_bytes',
];

/** Every family the service must expose, with its type. */
const FAMILIES: Record<string, FamilyType> = {
  runnerhub_containers: 'gauge',
  runnerhub_jobs: 'gauge',
  ...Object.fromEntries(USAGE_GAUGES.map((name) => [name, 'gauge' as const])),
  runnerhub_lifecycle_operation_duration_seconds: 'histogram',
  runnerhub_engine_call_duration_seconds: 'histogram',
  runnerhub_engine_errors_total: 'counter',
  runnerhub_job_queue_wait_seconds: 'histogram',
  runnerhub_alerts_total: 'counter',
  runnerhub_cleanup_removals_total: 'counter',
  runnerhub_cleanup_scans_total: 'counter',
  runnerhub_cleanup_scan_duration_seconds: 'histogram',
  runnerhub_duty_leader: 'gauge',
  runnerhub_duty_runs_total: 'counter',
  process_cpu_user_seconds_total: 'counter',
  process_resident_memory_bytes: 'gauge',
  nodejs_eventloop_lag_seconds: 'gauge',
};

describe.each(testDatabaseKinds())('metrics on %s', (kind) => {
  let suite: ApiSuite;

  beforeAll(async () => {
    suite = await startApiSuite(kind, 'metrics', { STATS_INTERVAL_MS: String(STATS_INTERVAL_MS) });
  });

  afterAll(async () => {
    await suite?.close();
  });

  async function scrape(): Promise<{ status: number; contentType: string | null; metrics: Exposition }> {
    const response = await fetch(`${suite.baseUrl}/metrics`);
    const text = await response.text();
    return { status: response.status, contentType: response.headers.get('content-type'), metrics: parse(text) };
  }

  async function create(start = true): Promise<Container> {
    const { data, response } = await suite.operator.POST('/api/containers', {
      body: {
        jobId: `job-${suite.run}`,
        repository: `octo/${suite.run}`,
        start,
        config: { image: TEST_IMAGE, command: ['sleep', '3600'], labels: suite.labels },
        limits: { memoryMB: 64 },
      },
    });
    expect(response.status).toBe(201);
    return data!.data;
  }

  async function stop(id: string): Promise<void> {
    const { response } = await suite.operator.POST('/api/containers/{id}/stop', {
      params: { path: { id } },
      body: { timeout: 5 },
    });
    expect(response.status).toBe(200);
  }

  async function remove(id: string): Promise<void> {
    const { response } = await suite.operator.DELETE('/api/containers/{id}', { params: { path: { id } } });
    expect(response.status).toBe(200);
  }

  it('serves every series as Prometheus text, without a key, after a container lived through the API', async () => {
    const container = await create();
    await stop(container.id);
    await remove(container.id);

    const { status, contentType, metrics } = await scrape();
    expect(status).toBe(200);
    expect(contentType).toBe('text/plain; version=0.0.4; charset=utf-8');
    for (const [name, type] of Object.entries(FAMILIES))
      expect([name, metrics.family(name)?.type]).toEqual([name, type]);

    // States are counted in the database: every state listed, the one this container ended in at least once.
    const containers = metrics.samples('runnerhub_containers');
    expect(containers.map((s) => s.labels.state).sort()).toEqual([...CONTAINER_STATES].sort());
    expect(metrics.value('runnerhub_containers', { state: ContainerState.Removed })).toBeGreaterThanOrEqual(1);
    const jobs = metrics.samples('runnerhub_jobs');
    expect(jobs.map((s) => s.labels.state).sort()).toEqual(Object.values(JobState).sort());

    // The container's start, stop and removal were timed from its transitions.
    const lifecycle = 'runnerhub_lifecycle_operation_duration_seconds';
    for (const operation of ['start', 'stop', 'remove']) {
      const count = metrics.value(`${lifecycle}_count`, { operation, outcome: 'ok' }) ?? 0;
      const sum = metrics.value(`${lifecycle}_sum`, { operation, outcome: 'ok' }) ?? 0;
      expect({ operation, timed: count >= 1, sane: sum > 0 && sum < 30 * count }).toEqual({
        operation,
        timed: true,
        sane: true,
      });
      expect(metrics.value(`${lifecycle}_count`, { operation, outcome: 'error' })).toBe(0);
    }

    // DockerEngine's calls were timed through the observer, with the engine's own operation names. (No ping need have
    // been made: an operation pings the engine only while its event stream is down.)
    const engine = 'runnerhub_engine_call_duration_seconds';
    for (const operation of ['create container', 'start container', 'stop container', 'remove container']) {
      const count = metrics.value(`${engine}_count`, { engine: 'default', operation, outcome: 'ok' }) ?? 0;
      expect({ operation, timed: count >= 1 }).toEqual({ operation, timed: true });
    }

    expect(metrics.value('process_cpu_user_seconds_total', {})).toBeGreaterThan(0);
    for (const type of ['high-cpu', 'high-memory', 'error', 'stopped']) {
      expect(metrics.value('runnerhub_alerts_total', { type })).toEqual(expect.any(Number));
    }
  });

  it('shows the latest sample of a running container labelled by its id, and drops it once the container stops', async () => {
    const container = await create();
    // By id alone: no name, job or repository (METRICS_REPOSITORY_LABELS is off by default).
    const labels = { container: container.id };
    const metrics = await waitFor(
      async () => {
        const { metrics } = await scrape();
        return metrics.value('runnerhub_container_memory_limit_bytes', labels) !== undefined ? metrics : null;
      },
      { timeoutMs: 10 * STATS_INTERVAL_MS, description: 'a sample of the container in /metrics' },
    );
    expect(metrics.value('runnerhub_container_memory_limit_bytes', labels)).toBe(64 * MIB);
    expect(metrics.value('runnerhub_container_memory_bytes', labels)).toBeGreaterThan(0);
    expect(metrics.value('runnerhub_container_memory_bytes', labels)).toBeLessThan(64 * MIB);
    for (const name of USAGE_GAUGES) expect([name, metrics.value(name, labels)]).toEqual([name, expect.any(Number)]);

    await stop(container.id);
    await waitFor(
      async () => {
        const { metrics } = await scrape();
        return USAGE_GAUGES.every((name) => !metrics.samples(name).some((s) => s.labels.container === container.id));
      },
      { timeoutMs: 10 * STATS_INTERVAL_MS, description: 'the stopped container to leave /metrics' },
    );
  });

  it('counts a container killed outside RunnerHub as an unexpected stop, and a stop asked for as none', async () => {
    const stopped = () =>
      scrape().then(({ metrics }) => metrics.value('runnerhub_alerts_total', { type: 'stopped' }) ?? NaN);
    const before = await stopped();

    const asked = await create();
    await stop(asked.id);
    expect(await stopped()).toBe(before);

    const killed = await create();
    docker(['kill', killed.engineId!]);
    await waitFor(async () => ((await stopped()) > before ? true : null), {
      timeoutMs: 10_000,
      description: 'the kill to be counted as an unexpected stop',
    });
    expect(await stopped()).toBe(before + 1);
  });

  it("counts a failed engine call by the engine's operation and the error it was mapped to", async () => {
    const errors = () =>
      scrape().then(
        ({ metrics }) =>
          metrics.value('runnerhub_engine_errors_total', {
            engine: 'default',
            operation: 'inspect container',
            code: 'NOT_FOUND',
          }) ?? 0,
      );
    const before = await errors();
    await expect(suite.app.get(DockerEngine).inspect(`missing-${suite.run}`)).rejects.toMatchObject({
      code: 'NOT_FOUND',
    });
    expect(await errors()).toBe(before + 1);
  });

  it('counts alerts, cleanup removals and first queue waits from the events', async () => {
    const emitter = suite.app.get(EventEmitter2);
    const { metrics: before } = await scrape();
    const at = new Date().toISOString();
    const subject = { containerId: randomUUID(), name: 'runner-metrics', jobId: null, repository: 'octo/metrics' };

    const alert: ContainerResourceAlertPayload = { ...subject, value: 97.5, threshold: 80, at };
    emitter.emit(ContainerEvent.HighCpu, alert);
    emitter.emit(ContainerEvent.HighMemory, alert);
    emitter.emit(ContainerEvent.HighMemory, alert);
    const removed: ContainerTransitionPayload = {
      ...subject,
      engineId: null,
      previousState: ContainerState.Removing,
      state: ContainerState.Removed,
      reason: 'cleanup:orphan',
      actor: 'cleanup',
      exitCode: null,
      runnerId: null,
      at,
    };
    emitter.emit(ContainerEvent.Removed, removed);
    emitter.emit(ContainerEvent.Removed, { ...removed, containerId: randomUUID(), reason: 'removal requested' });
    const assigned: JobTransitionPayload = {
      jobId: randomUUID(),
      previousState: JobState.Queued,
      state: JobState.Assigned,
      repository: 'octo/metrics',
      labels: ['self-hosted'],
      githubJobId: null,
      runnerId: null,
      containerId: null,
      attempts: 0,
      reason: 'claimed by the dispatcher',
      queuedAt: new Date(Date.now() - 2_000).toISOString(),
      at,
    };
    emitter.emit(JobEvent.Assigned, assigned);
    emitter.emit(JobEvent.Assigned, { ...assigned, attempts: 1 }); // a retry: not a queue wait

    const { metrics: after } = await scrape();
    const delta = (name: string, labels: Record<string, string>) =>
      (after.value(name, labels) ?? 0) - (before.value(name, labels) ?? 0);
    expect(delta('runnerhub_alerts_total', { type: 'high-cpu' })).toBe(1);
    expect(delta('runnerhub_alerts_total', { type: 'high-memory' })).toBe(2);
    expect(delta('runnerhub_cleanup_removals_total', { policy: 'orphan' })).toBe(1);
    expect(after.samples('runnerhub_cleanup_removals_total').map((s) => s.labels.policy)).toEqual(['orphan']);
    expect(delta('runnerhub_job_queue_wait_seconds_count', {})).toBe(1);
    expect(delta('runnerhub_job_queue_wait_seconds_sum', {})).toBeGreaterThanOrEqual(2);
    expect(delta('runnerhub_job_queue_wait_seconds_bucket', { le: '1' })).toBe(0);
    expect(delta('runnerhub_job_queue_wait_seconds_bucket', { le: '5' })).toBe(1);
  });

  it('is left out of the OpenAPI document and the api prefix', async () => {
    const document = (await (await fetch(`${suite.baseUrl}/api/docs-json`)).json()) as { paths: object };
    expect(Object.keys(document.paths).filter((path) => path.includes('metrics'))).toEqual([]);
    expect((await fetch(`${suite.baseUrl}/api/metrics`)).status).toBe(404);
  });
});

type FamilyType = 'counter' | 'gauge' | 'histogram' | 'summary' | 'untyped';

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

interface Family {
  name: string;
  type: FamilyType;
  help: string;
  samples: Sample[];
}

interface Exposition {
  family(name: string): Family | undefined;
  /** Samples of one series name (`x_bucket`, `x_count`... for a histogram). */
  samples(name: string): Sample[];
  /** The value of the sample whose labels are exactly these; undefined when there is none. */
  value(name: string, labels: Record<string, string>): number | undefined;
}

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const SUFFIXES: Partial<Record<FamilyType, string[]>> = {
  histogram: ['_bucket', '_sum', '_count'],
  summary: ['', '_sum', '_count'],
};

/**
 * A strict reader of the Prometheus text format 0.0.4: every line must be a HELP, a TYPE or a sample of the family
 * typed just before it, names and label names must be valid, label values correctly escaped, no series twice, and a
 * histogram's buckets must be cumulative up to `+Inf`, which must equal its `_count`. Anything else throws.
 */
function parse(text: string): Exposition {
  const families = new Map<string, Family>();
  let current: Family | undefined;
  const seen = new Set<string>();
  if (!text.endsWith('\n')) throw new Error('the exposition must end with a newline');
  for (const [index, line] of text.slice(0, -1).split('\n').entries()) {
    const fail = (why: string) => new Error(`line ${index + 1}: ${why}: ${JSON.stringify(line)}`);
    if (line.startsWith('#')) {
      const match = /^# (HELP|TYPE) (\S+) (.*)$/.exec(line);
      if (!match) continue; // a plain comment
      const [, keyword, name, rest] = match;
      if (!METRIC_NAME.test(name)) throw fail('invalid metric name');
      if (keyword === 'HELP') {
        if (families.has(name) && families.get(name) !== current) throw fail('family declared twice');
        current = families.get(name) ?? { name, type: 'untyped', help: '', samples: [] };
        current.help = rest.replace(/\\n/g, '\n').replace(/\\\\/g, '\\');
        families.set(name, current);
      } else {
        if (!['counter', 'gauge', 'histogram', 'summary', 'untyped'].includes(rest)) throw fail('unknown type');
        if (current?.name !== name || current.samples.length > 0) throw fail('TYPE must follow HELP, before samples');
        current.type = rest as FamilyType;
      }
      continue;
    }
    if (line.trim() === '') continue;
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)(?: (-?\d+))?$/.exec(line);
    if (!match) throw fail('not a sample');
    const [, name, labelText, valueText] = match;
    if (!current) throw fail('sample before any family');
    const suffix = name.slice(current.name.length);
    if (!name.startsWith(current.name) || !(SUFFIXES[current.type] ?? ['']).includes(suffix)) {
      throw fail(`sample outside its family ${current.name}`);
    }
    const labels = parseLabels(labelText ?? '', fail);
    const value = parseValue(valueText, fail);
    const key = `${name}${JSON.stringify(Object.entries(labels).sort())}`;
    if (seen.has(key)) throw fail('series repeated');
    seen.add(key);
    current.samples.push({ name, labels, value });
  }
  for (const family of families.values()) if (family.type === 'histogram') checkHistogram(family);

  const all = () => [...families.values()].flatMap((family) => family.samples);
  return {
    family: (name) => families.get(name),
    samples: (name) => all().filter((sample) => sample.name === name),
    value: (name, labels) =>
      all().find(
        (sample) =>
          sample.name === name &&
          Object.keys(sample.labels).length === Object.keys(labels).length &&
          Object.entries(labels).every(([key, value]) => sample.labels[key] === value),
      )?.value,
  };
}

function parseLabels(text: string, fail: (why: string) => Error): Record<string, string> {
  const labels: Record<string, string> = {};
  const pair = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\n]|\\[\\"n])*)"(,|$)/y;
  let offset = 0;
  while (offset < text.length) {
    pair.lastIndex = offset;
    const match = pair.exec(text);
    if (!match || !LABEL_NAME.test(match[1])) throw fail('malformed labels');
    if (match[1] in labels) throw fail(`label ${match[1]} repeated`);
    labels[match[1]] = match[2].replace(/\\(["\\n])/g, (_all, c: string) => (c === 'n' ? '\n' : c));
    offset = pair.lastIndex;
  }
  return labels;
}

/** As Prometheus reads values (Go's ParseFloat): NaN and Inf in any case, which matters since prom-client writes `Nan`. */
function parseValue(text: string, fail: (why: string) => Error): number {
  if (/^\+?inf$/i.test(text)) return Infinity;
  if (/^-inf$/i.test(text)) return -Infinity;
  if (/^nan$/i.test(text)) return NaN;
  if (!/^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(text)) throw fail('not a number');
  return Number(text);
}

/** Per label set: buckets cumulative, ending at +Inf, which equals _count; a _sum present. */
function checkHistogram(family: Family): void {
  const groups = new Map<string, Sample[]>();
  for (const sample of family.samples) {
    const key = JSON.stringify(
      Object.entries(sample.labels)
        .filter(([name]) => name !== 'le')
        .sort(),
    );
    groups.set(key, [...(groups.get(key) ?? []), sample]);
  }
  for (const [key, samples] of groups) {
    const buckets = samples.filter((s) => s.name.endsWith('_bucket'));
    const count = samples.find((s) => s.name.endsWith('_count'));
    const where = `${family.name}${key}`;
    if (buckets.length === 0 || !count || !samples.some((s) => s.name.endsWith('_sum'))) {
      throw new Error(`${where}: a histogram needs buckets, _sum and _count`);
    }
    const bounds = buckets.map((b) => parseValue(b.labels.le ?? 'x', () => new Error(`${where}: bad le`)));
    if (bounds.at(-1) !== Infinity) throw new Error(`${where}: the last bucket must be +Inf`);
    for (let i = 1; i < buckets.length; i++) {
      if (!(bounds[i] > bounds[i - 1]) || buckets[i].value < buckets[i - 1].value) {
        throw new Error(`${where}: buckets must rise, and their counts never fall`);
      }
    }
    if (buckets.at(-1)!.value !== count.value) throw new Error(`${where}: the +Inf bucket must equal _count`);
  }
}
