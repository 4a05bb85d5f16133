import { AppConfig, ContainerState } from '@app/common';
import type { EngineRegistry, ResourceUsage } from '@app/docker';
import type { ContainerLifecycleManager } from '@app/lifecycle';
import { LatestUsageStore, UsageSampler } from '@app/monitoring';
import type { ContainerRecordEntity } from '@app/persistence';
import { ContainerUsageService } from './container-usage.service';

const MIB = 1024 * 1024;
const INTERVAL_MS = 1_000;
const NOW = Date.parse('2026-12-02T06:00:00Z');

function record(id: string): ContainerRecordEntity {
  return {
    id,
    name: `runner-${id}`,
    jobId: `job-${id}`,
    repository: 'octo/hello',
    engineName: 'default',
    engineId: `engine-${id}`,
  } as ContainerRecordEntity;
}

function usage(ageMs: number, cpuPercent: number, memoryMB: number, rxMB = 0, txMB = 0): ResourceUsage {
  return {
    cpuPercent,
    memoryUsage: memoryMB * MIB,
    memoryLimit: 64 * MIB,
    memoryPercent: (memoryMB / 64) * 100,
    networkRx: rxMB * MIB,
    networkTx: txMB * MIB,
    blockRead: 0,
    blockWrite: 0,
    pids: 1,
    sampledAt: new Date(NOW - ageMs),
  };
}

/**
 * The summary over these running records, with `streamed` as the latest frame of each one's stats stream (by engine
 * id) and `kept` as samples taken on the spot earlier. Asking the engine for a sample fails the test.
 */
function usageService(
  records: ContainerRecordEntity[],
  streamed: Record<string, ResourceUsage> = {},
  kept: LatestUsageStore = new LatestUsageStore(),
) {
  const lists: unknown[] = [];
  const manager = {
    list: (filter: unknown, page: { limit: number; offset: number }) => {
      lists.push({ filter, page });
      return Promise.resolve({ items: records.slice(page.offset, page.offset + page.limit), total: records.length });
    },
    stats: (id: string) => Promise.reject(new Error(`the summary asked the engine for a sample of ${id}`)),
  } as unknown as ContainerLifecycleManager;
  const engines = {
    find: (name: string) =>
      name === 'default' ? { stats: { latest: (id: string) => streamed[id] ?? null } } : undefined,
  } as unknown as EngineRegistry;
  const config = { monitoring: { statsIntervalMs: INTERVAL_MS, statsTimeoutMs: 5_000 } } as AppConfig;
  // Neither the history nor the alerts are the summary's business: a round's.
  const sampler = new UsageSampler(config, manager, engines, kept, {} as never, {} as never);
  return { service: new ContainerUsageService(manager, sampler, config), lists };
}

describe('ContainerUsageService', () => {
  beforeEach(() => {
    jest.spyOn(Date, 'now').mockReturnValue(NOW);
  });

  afterEach(() => {
    jest.restoreAllMocks();
  });

  it("answers from the streams' latest samples without asking the engine, each row with its sample's age", async () => {
    const { service, lists } = usageService([record('a'), record('b')], {
      'engine-a': usage(800, 10, 8, 1, 2),
      'engine-b': usage(1_500, 30.5, 16, 0.5, 0),
    });
    const summary = await service.summary();
    expect(lists).toEqual([{ filter: { state: ContainerState.Running }, page: { limit: 500, offset: 0 } }]);
    expect(summary).toMatchObject({
      totalContainers: 2,
      totalCpuPercent: 40.5,
      totalMemoryMB: 24,
      totalNetworkRxMB: 1.5,
      totalNetworkTxMB: 2,
      staleAfterMs: 2 * INTERVAL_MS,
      staleContainers: 0,
      awaitingFirstSample: 0,
    });
    expect(
      summary.containers.map(({ id, name, jobId, resourceUsage, ageMs, stale }) => [
        id,
        name,
        jobId,
        resourceUsage?.cpuPercent,
        ageMs,
        stale,
      ]),
    ).toEqual([
      ['a', 'runner-a', 'job-a', 10, 800, false],
      ['b', 'runner-b', 'job-b', 30.5, 1_500, false],
    ]);
    expect(summary.containers[0].sampledAt).toEqual(new Date(NOW - 800));
    expect(summary.containers[0].sampledAt).toEqual(summary.containers[0].resourceUsage?.sampledAt);
  });

  it('marks a sample older than two sampling intervals stale, and still counts its figures', async () => {
    const { service } = usageService([record('fresh'), record('stalled')], {
      'engine-fresh': usage(2 * INTERVAL_MS, 5, 4),
      'engine-stalled': usage(2 * INTERVAL_MS + 1, 7, 6),
    });
    const summary = await service.summary();
    expect(Object.fromEntries(summary.containers.map((row) => [row.id, [row.ageMs, row.stale]]))).toEqual({
      fresh: [2 * INTERVAL_MS, false],
      stalled: [2 * INTERVAL_MS + 1, true],
    });
    expect(summary).toMatchObject({ staleContainers: 1, totalCpuPercent: 12, totalMemoryMB: 10 });
  });

  it('lists a container with no sample yet without figures, flagged, and leaves it out of the totals', async () => {
    const { service } = usageService([record('sampled'), record('just-started')], {
      'engine-sampled': usage(300, 5, 4),
    });
    const summary = await service.summary();
    expect(summary).toMatchObject({
      totalContainers: 2,
      awaitingFirstSample: 1,
      staleContainers: 0,
      totalCpuPercent: 5,
    });
    expect(summary.containers.find((row) => row.id === 'just-started')).toEqual({
      id: 'just-started',
      name: 'runner-just-started',
      jobId: 'job-just-started',
      repository: 'octo/hello',
      resourceUsage: null,
      sampledAt: null,
      ageMs: null,
      stale: false,
      awaitingFirstSample: true,
    });
  });

  it('shows a sample taken on the spot since the stream last delivered, as it is newer', async () => {
    const kept = new LatestUsageStore();
    kept.update({ containerId: 'a', name: 'runner-a', jobId: 'job-a', repository: null, usage: usage(100, 50, 8) });
    const { service } = usageService([record('a'), record('b')], { 'engine-a': usage(900, 1, 8) }, kept);
    kept.update({ containerId: 'b', name: 'runner-b', jobId: 'job-b', repository: null, usage: usage(5_000, 9, 8) });
    const summary = await service.summary();
    expect(summary.containers.map((row) => [row.id, row.ageMs, row.resourceUsage?.cpuPercent])).toEqual([
      ['a', 100, 50],
      ['b', 5_000, 9],
    ]);
  });

  it('reads every page of running containers', async () => {
    const records = Array.from({ length: 1_201 }, (_, i) => record(String(i)));
    const streamed = Object.fromEntries(records.map((r) => [r.engineId!, usage(10, 1, 1)]));
    const { service, lists } = usageService(records, streamed);
    const summary = await service.summary();
    expect(lists).toHaveLength(3);
    expect(summary.totalContainers).toBe(1_201);
    expect(new Set(summary.containers.map((row) => row.id)).size).toBe(1_201);
    expect(summary.totalCpuPercent).toBe(1_201);
  });
});
