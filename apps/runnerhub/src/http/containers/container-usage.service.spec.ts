import { ContainerState, DomainError, ErrorCode } from '@app/common';
import type { ResourceUsage } from '@app/docker';
import type { ContainerLifecycleManager } from '@app/lifecycle';
import type { ContainerRecordEntity } from '@app/persistence';
import { Logger } from '@nestjs/common';
import { LatestUsageStore } from '@app/monitoring';
import { ContainerUsageService } from './container-usage.service';

const MIB = 1024 * 1024;

function record(id: string): ContainerRecordEntity {
  return { id, name: `runner-${id}`, jobId: `job-${id}`, repository: 'octo/hello' } as ContainerRecordEntity;
}

function usage(cpuPercent: number, memoryMB: number, rxMB: number, txMB: number): ResourceUsage {
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
    sampledAt: new Date(),
  };
}

function fakeManager(records: ContainerRecordEntity[], stats: (id: string) => Promise<ResourceUsage>) {
  const calls = { list: [] as unknown[], stats: [] as string[] };
  const manager = {
    list: (filter: unknown, page: { limit: number; offset: number }) => {
      calls.list.push({ filter, page });
      const items = records.slice(page.offset, page.offset + page.limit);
      return Promise.resolve({ items, total: records.length });
    },
    stats: (id: string) => {
      calls.stats.push(id);
      return stats(id);
    },
  } as unknown as ContainerLifecycleManager;
  return { manager, calls };
}

describe('ContainerUsageService', () => {
  beforeAll(() => {
    Logger.overrideLogger(false);
  });

  it('sums the rows of running containers, sampled in parallel', async () => {
    const samples: Record<string, ResourceUsage> = { a: usage(10, 8, 1, 2), b: usage(30.5, 16, 0.5, 0) };
    let inFlight = 0;
    let mostInFlight = 0;
    const { manager, calls } = fakeManager([record('a'), record('b')], async (id) => {
      inFlight++;
      mostInFlight = Math.max(mostInFlight, inFlight);
      await new Promise((resolve) => setTimeout(resolve, 20));
      inFlight--;
      return samples[id];
    });
    const summary = await new ContainerUsageService(manager, new LatestUsageStore(), 1_000).summary();
    expect(calls.list).toEqual([{ filter: { state: ContainerState.Running }, page: { limit: 500, offset: 0 } }]);
    expect(mostInFlight).toBe(2);
    expect(summary).toMatchObject({
      totalContainers: 2,
      totalCpuPercent: 40.5,
      totalMemoryMB: 24,
      totalNetworkRxMB: 1.5,
      totalNetworkTxMB: 2,
    });
    expect(summary.containers.map((row) => [row.id, row.name, row.jobId, row.resourceUsage?.cpuPercent])).toEqual([
      ['a', 'runner-a', 'job-a', 10],
      ['b', 'runner-b', 'job-b', 30.5],
    ]);
  });

  it('lists a stuck or failing container without a sample instead of waiting for it', async () => {
    const { manager } = fakeManager([record('ok'), record('stuck'), record('gone')], (id) => {
      if (id === 'stuck') return new Promise<ResourceUsage>(() => undefined);
      if (id === 'gone') return Promise.reject(new DomainError(ErrorCode.Conflict, 'gone is stopped'));
      return Promise.resolve(usage(5, 4, 0, 0));
    });
    const started = Date.now();
    const summary = await new ContainerUsageService(manager, new LatestUsageStore(), 100).summary();
    expect(Date.now() - started).toBeLessThan(1_000);
    expect(summary.totalContainers).toBe(3);
    expect(summary.totalCpuPercent).toBe(5);
    expect(summary.totalMemoryMB).toBe(4);
    expect(Object.fromEntries(summary.containers.map((row) => [row.id, row.resourceUsage === null]))).toEqual({
      ok: false,
      stuck: true,
      gone: true,
    });
  });

  it('reads every page of running containers', async () => {
    const records = Array.from({ length: 1_201 }, (_, i) => record(String(i)));
    const { manager, calls } = fakeManager(records, () => Promise.resolve(usage(1, 1, 0, 0)));
    const summary = await new ContainerUsageService(manager, new LatestUsageStore(), 1_000).summary();
    expect(calls.list).toHaveLength(3);
    expect(summary.totalContainers).toBe(1_201);
    expect(new Set(calls.stats).size).toBe(1_201);
    expect(summary.totalCpuPercent).toBe(1_201);
  });
});
