import { ContainerResourceAlertPayload } from '@app/common';
import { EngineEventStream } from '@app/docker';
import { UsageSampler } from '@app/monitoring';
import { ContainerStatsRepository } from '@app/persistence';
import { EventEmitter2 } from '@nestjs/event-emitter';
import { Schemas } from '../client/client';
import { ApiSuite, startApiSuite } from '../support/api-suite';
import { testDatabaseKinds } from '../support/databases';
import { docker } from '../support/engine-cli';
import { TEST_IMAGE } from '../support/test-env';
import { waitFor } from '../support/wait-for';

type Container = Schemas['ContainerDto'];
const MIB = 1024 * 1024;
const INTERVAL_MS = 1_000;
const RETENTION_MS = 4_000;

describe.each(testDatabaseKinds())('monitoring on %s', (kind) => {
  let suite: ApiSuite;
  const alerts: Array<{ name: string; containerId: string; value: number; at: string }> = [];

  beforeAll(async () => {
    suite = await startApiSuite(kind, 'monitoring', {
      STATS_INTERVAL_MS: String(INTERVAL_MS),
      HEALTH_INTERVAL_MS: String(INTERVAL_MS),
      STATS_RETENTION_MS: String(RETENTION_MS),
      // The retention job prunes the sample history: every second here, so that the test below sees it work.
      RETENTION_INTERVAL_MS: String(INTERVAL_MS),
      ALERT_CPU_PERCENT: '60',
      ALERT_MEMORY_PERCENT: '85',
    });
    suite.app.get(EventEmitter2).onAny((event: string | string[], payload: unknown) => {
      const name = String(event);
      if (name === 'container:high-cpu' || name === 'container:high-memory') {
        const { containerId, value, at } = payload as ContainerResourceAlertPayload;
        alerts.push({ name, containerId, value, at });
      }
    });
  });

  afterAll(async () => {
    await suite?.close();
  });

  async function create(command: string[], memoryMB = 64): Promise<Container> {
    const { data, response } = await suite.operator.POST('/api/containers', {
      body: {
        jobId: `job-${suite.run}`,
        repository: `octo/${suite.run}`,
        config: { image: TEST_IMAGE, command, labels: suite.labels },
        limits: { memoryMB },
      },
    });
    expect(response.status).toBe(201);
    return data!.data;
  }

  async function get(id: string): Promise<Container> {
    const { data } = await suite.viewer.GET('/api/containers/{id}', { params: { path: { id } } });
    return data!.data;
  }

  /** Resolves after `count` more sampling rounds have finished. */
  async function rounds(count: number): Promise<void> {
    const sampler = suite.app.get(UsageSampler);
    let seen = sampler.last?.at.getTime() ?? 0;
    for (let i = 0; i < count; i++) {
      seen = await waitFor(
        () => {
          const at = sampler.last?.at.getTime() ?? 0;
          return at > seen ? at : null;
        },
        { timeoutMs: 10 * INTERVAL_MS, description: 'the next sampling round' },
      );
    }
  }

  it('alerts on a CPU- and memory-hungry container within its first sampled intervals, once, and never on an idle one', async () => {
    const idle = await create(['sleep', '3600']);
    // 59 MiB in tmpfs (charged to the container, never reclaimable without swap), then a busy loop on one core.
    const hungry = await create(['sh', '-c', 'dd if=/dev/zero of=/dev/shm/fill bs=1M count=59 && while :; do :; done']);
    // Four rounds: the first to finish may have listed the containers before they existed; the next opens their stats
    // streams, whose first frame has no CPU baseline; the two after it carry CPU % and memory.
    await rounds(4);
    const of = (id: string) => alerts.filter((alert) => alert.containerId === id).map((alert) => alert.name);
    expect(of(hungry.id).sort()).toEqual(['container:high-cpu', 'container:high-memory']);
    await rounds(3);
    expect(of(hungry.id).sort()).toEqual(['container:high-cpu', 'container:high-memory']);
    expect(of(idle.id)).toEqual([]);
    const detail = await get(hungry.id);
    expect(detail.resourceUsage?.memoryPercent).toBeGreaterThan(85);
    expect(detail.resourceUsage?.cpuPercent).toBeGreaterThan(60);
    await suite.operator.POST('/api/containers/{id}/stop', {
      params: { path: { id: hungry.id } },
      body: { timeout: 0 },
    });
  });

  it('reports the 64 MiB limit of a container, in its stats and its detail', async () => {
    const container = await create(['sleep', '3600'], 64);
    await rounds(2);
    const { data, response } = await suite.viewer.GET('/api/containers/{id}/stats', {
      params: { path: { id: container.id } },
    });
    expect(response.status).toBe(200);
    expect(data!.data.memoryLimit).toBe(64 * MIB);
    expect((await get(container.id)).resourceUsage).toMatchObject({ memoryLimit: 64 * MIB });
  });

  it('adds up the usage summary from its rows', async () => {
    await rounds(1);
    const { data } = await suite.viewer.GET('/api/containers/usage/summary');
    const summary = data!.data;
    const rows = summary.containers.filter((row) => row.resourceUsage !== null);
    expect(summary.totalContainers).toBe(summary.containers.length);
    expect(rows.length).toBeGreaterThanOrEqual(2);
    const total = (pick: (u: NonNullable<(typeof rows)[number]['resourceUsage']>) => number) =>
      rows.reduce((sum, row) => sum + pick(row.resourceUsage!), 0);
    expect(summary.totalCpuPercent).toBeCloseTo(
      total((u) => u.cpuPercent),
      6,
    );
    expect(summary.totalMemoryMB).toBeCloseTo(total((u) => u.memoryUsage) / MIB, 6);
    expect(summary.totalNetworkRxMB).toBeCloseTo(total((u) => u.networkRx) / MIB, 6);
    expect(summary.totalNetworkTxMB).toBeCloseTo(total((u) => u.networkTx) / MIB, 6);
    // Each row says how old its sample is, and calls it stale past two sampling intervals.
    expect(summary.staleAfterMs).toBe(2 * INTERVAL_MS);
    for (const row of rows) {
      expect(row).toMatchObject({ sampledAt: row.resourceUsage!.sampledAt, awaitingFirstSample: false });
      expect(row.ageMs).toBeGreaterThanOrEqual(0);
      expect(row.stale).toBe(row.ageMs! > summary.staleAfterMs);
    }
    expect(summary.staleContainers).toBe(rows.filter((row) => row.stale).length);
  });

  it('keeps a history of samples and prunes it after its retention', async () => {
    const container = await create(['sleep', '3600']);
    await rounds(RETENTION_MS / INTERVAL_MS + 3);
    const history = await suite.app.get(ContainerStatsRepository).recent(container.id, 1000);
    expect(history.length).toBeGreaterThanOrEqual(2);
    const oldest = Math.min(...history.map((row) => row.sampledAt.getTime()));
    expect(Date.now() - oldest).toBeLessThan(RETENTION_MS + 3 * INTERVAL_MS);
  });

  it('catches, by its health check, a container killed outside RunnerHub while the engine events were missed', async () => {
    const container = await create(['sleep', '3600']);
    // Deafen the reconciler, as a dropped event stream would.
    suite.app.get(EngineEventStream).stop();
    try {
      docker(['kill', container.engineId!]);
      const corrected = await waitFor(
        async () => {
          const now = await get(container.id);
          return now.state !== 'running' ? now : null;
        },
        { timeoutMs: 5 * INTERVAL_MS, description: 'the health check to record the kill' },
      );
      expect(corrected).toMatchObject({ state: 'stopped', exitCode: 137 });
    } finally {
      suite.app.get(EngineEventStream).start();
    }
  });
});
