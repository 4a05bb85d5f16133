import { AppConfig } from '@app/common';
import type { ResourceUsage } from '@app/docker';
import { Inject, Injectable } from '@nestjs/common';
import { Gauge, Registry } from 'prom-client';
import { ContainerUsageSnapshot, LatestUsageStore } from '../latest-usage.store';
import { METRICS_REGISTRY } from './metrics.tokens';

type UsageLabel = 'container' | 'repository';

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
 *
 * Series are labelled by RunnerHub's container id alone: the id is what the API answers about, container names and
 * job ids would only multiply series, and repository names may be private, so they are added only when the operator
 * asks for them (METRICS_REPOSITORY_LABELS). One series per running container keeps the cardinality at
 * MAX_CONCURRENT_CONTAINERS per gauge.
 */
@Injectable()
export class ContainerUsageCollector {
  private readonly labelNames: UsageLabel[];

  constructor(
    @Inject(METRICS_REGISTRY) registry: Registry,
    private readonly latest: LatestUsageStore,
    config: AppConfig,
  ) {
    this.labelNames = config.metrics.repositoryLabels ? ['container', 'repository'] : ['container'];
    for (const { name, help, read } of USAGE_GAUGES) {
      const gauge: Gauge<UsageLabel> = new Gauge({
        name,
        help,
        labelNames: this.labelNames,
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
      if (Number.isFinite(value)) gauge.set(this.labelsOf(snapshot), value);
    }
  }

  /** RunnerHub's id, and the repository (an empty string when it has none) where the operator enabled it. */
  private labelsOf(snapshot: ContainerUsageSnapshot): Partial<Record<UsageLabel, string>> {
    const labels: Partial<Record<UsageLabel, string>> = { container: snapshot.containerId };
    if (this.labelNames.includes('repository')) labels.repository = snapshot.repository ?? '';
    return labels;
  }
}
