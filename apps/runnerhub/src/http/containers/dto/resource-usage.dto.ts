/** One resource sample, computed as `docker stats` shows it. */
export class ResourceUsageDto {
  /** Percent of one CPU, summed over CPUs: two busy cores read 200. */
  cpuPercent!: number;
  /** Bytes in use, without the inactive page cache. */
  memoryUsage!: number;
  /** Bytes the container may use (the host's memory when unlimited). */
  memoryLimit!: number;
  memoryPercent!: number;
  /** Bytes received over the network since the container started. */
  networkRx!: number;
  /** Bytes sent over the network since the container started. */
  networkTx!: number;
  /** Bytes read from block devices. */
  blockRead!: number;
  /** Bytes written to block devices. */
  blockWrite!: number;
  /** Processes and threads in the container. */
  pids!: number;
  /** When the engine took the sample. */
  sampledAt!: Date;
}
