import type { ResourceUsage } from './engine.types';

/**
 * The part of the engine's stats payload the computation reads. Every field is optional: a stopped container's
 * sample has empty objects and null lists, a cgroup v2 host lacks percpu_usage and the total_* memory keys, and a
 * container without network has no networks at all.
 */
export interface RawCpuStats {
  cpu_usage?: { total_usage?: number; percpu_usage?: number[] | null };
  system_cpu_usage?: number;
  online_cpus?: number;
}

export interface RawStatsSample {
  id?: string;
  read?: string;
  cpu_stats?: RawCpuStats;
  precpu_stats?: RawCpuStats;
  memory_stats?: { usage?: number; limit?: number; stats?: Record<string, number> };
  networks?: Record<string, { rx_bytes?: number; tx_bytes?: number }> | null;
  blkio_stats?: { io_service_bytes_recursive?: Array<{ op?: string; value?: number }> | null };
  pids_stats?: { current?: number };
}

/**
 * Computes what `docker stats` shows, the way the docker CLI computes it (cli/command/container/stats_helpers.go).
 *
 * CPU is the container's share of the host's CPU time between two samples, scaled by the CPU count:
 * (cpuDelta / systemDelta) x onlineCPUs x 100. The baseline is `previous` when given (two one-shot samples), else
 * the engine's own precpu_stats (a stream:false sample). No usable baseline, or a delta that is zero or negative
 * (a restarted container resets its counter), reads 0.
 */
export function computeResourceUsage(
  sample: RawStatsSample,
  previous?: RawStatsSample,
  now: Date = new Date(),
): ResourceUsage {
  const memoryUsage = memoryWithoutInactiveFile(sample.memory_stats);
  const memoryLimit = sample.memory_stats?.limit ?? 0;
  const { read: blockRead, write: blockWrite } = blockIo(sample);
  const network = networkTotals(sample);
  return {
    cpuPercent: cpuPercent(sample.cpu_stats, previous ? previous.cpu_stats : sample.precpu_stats),
    memoryUsage,
    memoryLimit,
    memoryPercent: memoryLimit > 0 ? (memoryUsage / memoryLimit) * 100 : 0,
    networkRx: network.rx,
    networkTx: network.tx,
    blockRead,
    blockWrite,
    pids: sample.pids_stats?.current ?? 0,
    sampledAt: sampleInstant(sample.read) ?? now,
  };
}

export function cpuPercent(current: RawCpuStats | undefined, baseline: RawCpuStats | undefined): number {
  const total = current?.cpu_usage?.total_usage ?? 0;
  const system = current?.system_cpu_usage ?? 0;
  const baseTotal = baseline?.cpu_usage?.total_usage ?? 0;
  const baseSystem = baseline?.system_cpu_usage ?? 0;
  // An empty baseline (a one-shot sample's precpu_stats) has no system time: a delta against it is the whole uptime
  // of the host, not the recent past, so it is not a measurement.
  if (baseSystem <= 0) return 0;
  const cpuDelta = total - baseTotal;
  const systemDelta = system - baseSystem;
  if (cpuDelta <= 0 || systemDelta <= 0) return 0;
  const onlineCpus = current?.online_cpus || current?.cpu_usage?.percpu_usage?.length || 0;
  return (cpuDelta / systemDelta) * onlineCpus * 100;
}

/**
 * Usage minus the inactive file cache, as the CLI does since Docker 19.03: total_inactive_file on cgroup v1,
 * inactive_file on cgroup v2. Page cache the kernel can drop at once would otherwise make every job that reads files
 * look close to its limit.
 */
export function memoryWithoutInactiveFile(memory: RawStatsSample['memory_stats']): number {
  const usage = memory?.usage ?? 0;
  const stats = memory?.stats ?? {};
  const v1 = stats['total_inactive_file'];
  if (v1 !== undefined && v1 < usage) return usage - v1;
  // As in the CLI, a missing key reads 0 (Go's map lookup), so usage is returned whole when neither is present.
  const v2 = stats['inactive_file'] ?? 0;
  return v2 < usage ? usage - v2 : usage;
}

function networkTotals(sample: RawStatsSample): { rx: number; tx: number } {
  let rx = 0;
  let tx = 0;
  for (const network of Object.values(sample.networks ?? {})) {
    rx += network.rx_bytes ?? 0;
    tx += network.tx_bytes ?? 0;
  }
  return { rx, tx };
}

/** cgroup v1 names the operations Read/Write (and Sync, Async, Total, Discard), cgroup v2 read/write. */
function blockIo(sample: RawStatsSample): { read: number; write: number } {
  let read = 0;
  let write = 0;
  for (const entry of sample.blkio_stats?.io_service_bytes_recursive ?? []) {
    const op = entry.op?.toLowerCase();
    if (op === 'read') read += entry.value ?? 0;
    else if (op === 'write') write += entry.value ?? 0;
  }
  return { read, write };
}

/** A sample of a container that is not running carries the zero time (year 1). */
function sampleInstant(read: string | undefined): Date | undefined {
  if (!read || read.startsWith('0001-')) return undefined;
  const instant = new Date(read);
  return Number.isNaN(instant.getTime()) ? undefined : instant;
}
