import exited from './__fixtures__/stats-v1-exited.json';
import networkNone from './__fixtures__/stats-v1-network-none.json';
import oneShotA from './__fixtures__/stats-v1-one-shot-a.json';
import oneShotB from './__fixtures__/stats-v1-one-shot-b.json';
import streamFalse from './__fixtures__/stats-v1-stream-false.json';
import v2 from './__fixtures__/stats-v2-documented.json';
import { computeResourceUsage, cpuPercent, memoryWithoutInactiveFile, RawStatsSample } from './resource-usage';

const MiB = 1024 * 1024;
const copy = (sample: RawStatsSample): RawStatsSample => structuredClone(sample);

describe('computeResourceUsage on payloads recorded from Docker 20.10 (cgroup v1)', () => {
  it('computes a stream:false sample against the precpu baseline the engine put in it', () => {
    // busybox busy loop with CpuQuota 50000/100000 on 2 CPUs and Memory 64 MiB.
    expect(computeResourceUsage(streamFalse)).toEqual({
      cpuPercent: expect.closeTo(50.5215, 3),
      memoryUsage: 9_048_064,
      memoryLimit: 64 * MiB,
      memoryPercent: expect.closeTo(13.4827, 3),
      networkRx: 736,
      networkTx: 0,
      blockRead: 0,
      blockWrite: 0,
      pids: 1,
      sampledAt: new Date('2026-11-29T02:09:26.219Z'),
    });
  });

  it('computes CPU between two one-shot samples of the same container', () => {
    const usage = computeResourceUsage(oneShotB, oneShotA);
    expect(usage.cpuPercent).toBeCloseTo(48.1895, 3);
    expect(usage).toMatchObject({ memoryLimit: 64 * MiB, networkRx: 806, pids: 1 });
  });

  it('reads 0 % for a lone one-shot sample, whose precpu_stats is empty, instead of an average since boot', () => {
    expect('system_cpu_usage' in oneShotB.precpu_stats).toBe(false);
    expect(computeResourceUsage(oneShotB).cpuPercent).toBe(0);
  });

  it('reads zero traffic for a container without a network (no networks key at all)', () => {
    expect('networks' in networkNone).toBe(false);
    expect(computeResourceUsage(networkNone)).toMatchObject({ networkRx: 0, networkTx: 0, memoryLimit: 32 * MiB });
  });

  it('reads zeros for a stopped container, and stamps it with the time of asking', () => {
    const now = new Date('2026-11-29T03:00:00Z');
    expect(computeResourceUsage(exited, undefined, now)).toEqual({
      cpuPercent: 0,
      memoryUsage: 0,
      memoryLimit: 0,
      memoryPercent: 0,
      networkRx: 0,
      networkTx: 0,
      blockRead: 0,
      blockWrite: 0,
      pids: 0,
      sampledAt: now,
    });
  });

  it('subtracts total_inactive_file (not inactive_file) from usage on cgroup v1', () => {
    const sample = copy(streamFalse);
    sample.memory_stats!.stats = {
      ...sample.memory_stats!.stats,
      total_inactive_file: 4 * MiB,
      inactive_file: 1 * MiB,
    };
    expect(computeResourceUsage(sample).memoryUsage).toBe(9_048_064 - 4 * MiB);
  });

  it('sums Read and Write block I/O over devices and ignores Sync, Async and Total', () => {
    const sample = copy(streamFalse);
    sample.blkio_stats = {
      io_service_bytes_recursive: [
        { op: 'Read', value: 100 },
        { op: 'Write', value: 10 },
        { op: 'Sync', value: 110 },
        { op: 'Async', value: 0 },
        { op: 'Total', value: 110 },
        { op: 'Read', value: 1 },
        { op: 'Write', value: 2 },
      ],
    };
    expect(computeResourceUsage(sample)).toMatchObject({ blockRead: 101, blockWrite: 12 });
  });
});

describe('computeResourceUsage on the documented cgroup v2 shape', () => {
  it('computes every figure', () => {
    expect(computeResourceUsage(v2)).toEqual({
      cpuPercent: 100,
      memoryUsage: 80 * MiB,
      memoryLimit: 256 * MiB,
      memoryPercent: 31.25,
      networkRx: 1500,
      networkTx: 2250,
      blockRead: 5120,
      blockWrite: 8192,
      pids: 7,
      sampledAt: new Date('2026-11-29T02:30:00.500Z'),
    });
  });
});

describe('cpuPercent', () => {
  const at = (total: number, system: number, online?: number, percpu?: number[]) => ({
    cpu_usage: { total_usage: total, percpu_usage: percpu },
    system_cpu_usage: system,
    online_cpus: online,
  });

  it('is (cpuDelta / systemDelta) x online CPUs x 100', () => {
    expect(cpuPercent(at(1_500, 20_000, 4), at(1_000, 10_000, 4))).toBe(20);
  });

  it('falls back to the length of percpu_usage when online_cpus is missing or zero', () => {
    expect(cpuPercent(at(1_500, 20_000, undefined, [1, 2, 3]), at(1_000, 10_000))).toBeCloseTo(15, 10);
    expect(cpuPercent(at(1_500, 20_000, 0, [1, 2]), at(1_000, 10_000))).toBe(10);
  });

  it('reads 0 when the system delta is zero or negative', () => {
    expect(cpuPercent(at(1_500, 10_000, 2), at(1_000, 10_000, 2))).toBe(0);
    expect(cpuPercent(at(1_500, 9_000, 2), at(1_000, 10_000, 2))).toBe(0);
  });

  it('reads 0 when the container counter went backwards (it restarted between samples)', () => {
    expect(cpuPercent(at(100, 20_000, 2), at(1_000, 10_000, 2))).toBe(0);
  });

  it('reads 0 without a baseline', () => {
    expect(cpuPercent(at(1_500, 20_000, 2), undefined)).toBe(0);
  });
});

describe('memoryWithoutInactiveFile', () => {
  it('returns usage whole when the cache figure is missing or not below usage', () => {
    expect(memoryWithoutInactiveFile({ usage: 100, stats: {} })).toBe(100);
    expect(memoryWithoutInactiveFile({ usage: 100, stats: { inactive_file: 100 } })).toBe(100);
    expect(memoryWithoutInactiveFile(undefined)).toBe(0);
  });

  it('falls back to inactive_file when total_inactive_file is not below usage, as the CLI does', () => {
    expect(memoryWithoutInactiveFile({ usage: 100, stats: { total_inactive_file: 200, inactive_file: 30 } })).toBe(70);
  });
});
