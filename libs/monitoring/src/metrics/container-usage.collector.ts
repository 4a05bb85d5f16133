import type { ResourceUsage } from '@app/docker';
import { Inject, Injectable } from '@nestjs/common';
import { Gauge, Registry } from 'prom-client';
import { ContainerUsageSnapshot, LatestUsageStore } from '../latest-usage.store';
import { METRICS_REGISTRY } from './metrics.tokens';

type UsageLabel = 'container' | 'name' | 'repository' | 'job';

const USAGE_LABELS: UsageLabel[] = ['container', 'name', 'repository', 'job'];

/** Each per-container gauge and the figure of the latest sample it shows. */
const USAGE_GAUGES: ReadonlyArray<{ name: string; help: string; read: (usage: ResourceUsage) => number }> = [
  {
    name: 'runnerhub_container_cpu_percent',
    help: 'CPU use of a running container in percent of one core (two busy cores read 200), as docker stats shows it.',
    read: (usage) => usage.cpuPercent,
  },
  {
    name: 'runnerhub_container_memory_bytes',
    help: 'Memory use of a running container without its inactive page cache, as docker stats shows it.',
    read: (usage) => usage.memoryUsage,
  },
  {
    name: 'runnerhub_container_memory_limit_bytes',
    help: 'Memory limit of a running container (the host memory when it has none).',
    read: (usage) => usage.memoryLimit,
  },
  {
    name: 'runnerhub_container_network_receive_bytes',
    help: 'Bytes a running container received over all its interfaces since it started.',
    read: (usage) => usage.networkRx,
  },
  {
    name: 'runnerhub_container_network_transmit_bytes',
    help: 'Bytes a running container sent over all its interfaces since it started.',
    read: (usage) => usage.networkTx,
  },
  {
    name: 'runnerhub_container_block_read_bytes',
    help: 'Bytes a running container read from block devices since it started.',
    read: (usage) => usage.blockRead,
  },
  {
    name: 'runnerhub_container_block_write_bytes',
    help: 'Bytes a running container wrote to block devices since it started.',
    read: (usage) => usage.blockWrite,
  },
];

/**
 * The per-container resource gauges, read at scrape time from the latest samples the monitoring rounds keep: a
 * scrape never waits for the engine. Each gauge is emptied first, so a container that stopped running (and left
 * the store) leaves the metrics at the next scrape instead of showing its last figures forever.
 */
@Injectable()
export class ContainerUsageCollector {
  constructor(
    @Inject(METRICS_REGISTRY) registry: Registry,
    private readonly latest: LatestUsageStore,
  ) {
    for (const { name, help, read } of USAGE_GAUGES) {
      const gauge: Gauge<UsageLabel> = new Gauge({
        name,
        help,
        labelNames: USAGE_LABELS,
        registers: [registry],
        collect: () => this.fill(gauge, read),
      });
    }
  }

  private fill(gauge: Gauge<UsageLabel>, read: (usage: ResourceUsage) => number): void {
    gauge.reset();
    for (const snapshot of this.latest.all()) {
      if (!snapshot.usage) continue; // not sampled yet: no figure rather than a made-up zero
      const value = read(snapshot.usage);
      if (Number.isFinite(value)) gauge.set(labelsOf(snapshot), value);
    }
  }
}

/** RunnerHub's id, the container's name, its repository and job; empty strings for the ones it has not. */
function labelsOf(snapshot: ContainerUsageSnapshot): Record<UsageLabel, string> {
  return {
    container: snapshot.containerId,
    name: snapshot.name,
    repository: snapshot.repository ?? '',
    job: snapshot.jobId ?? '',
  };
}
