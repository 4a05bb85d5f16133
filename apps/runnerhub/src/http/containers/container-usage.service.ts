import type { ResourceUsage } from '@app/docker';
import { ContainerLifecycleManager } from '@app/lifecycle';
import { mapConcurrently, withDeadline } from '@app/common';
import { LatestUsageStore, runningContainers } from '@app/monitoring';
import { Inject, Injectable, Logger, Optional } from '@nestjs/common';
import { toResourceUsageDto } from './container.mapper';
import { ContainerUsageDto, UsageSummaryDto } from './dto/usage-summary.dto';

/** How long one container's sample may take before the summary lists it without one. */
export const USAGE_SAMPLE_TIMEOUT_MS = Symbol('USAGE_SAMPLE_TIMEOUT_MS');
const DEFAULT_SAMPLE_TIMEOUT_MS = 5_000;
/** Samples in flight at once: parallel calls share the engine's 1 s collector tick, sequential ones cost ~1 s each. */
const SAMPLE_CONCURRENCY = 32;
const MEBIBYTE = 1024 * 1024;

/**
 * Resource usage of every running container: the latest sample monitoring keeps, and for a container it has not
 * reached yet (just started) a sample taken now, under a deadline, so one stuck container costs at most that
 * deadline and is listed with `resourceUsage: null` rather than stalling the rest.
 */
@Injectable()
export class ContainerUsageService {
  private readonly logger = new Logger(ContainerUsageService.name);
  private readonly sampleTimeoutMs: number;

  constructor(
    private readonly manager: ContainerLifecycleManager,
    private readonly latest: LatestUsageStore,
    @Optional() @Inject(USAGE_SAMPLE_TIMEOUT_MS) sampleTimeoutMs?: number,
  ) {
    this.sampleTimeoutMs = sampleTimeoutMs ?? DEFAULT_SAMPLE_TIMEOUT_MS;
  }

  async summary(): Promise<UsageSummaryDto> {
    const running = await runningContainers(this.manager);
    const containers = await mapConcurrently(running, SAMPLE_CONCURRENCY, async (record) => {
      const usage = this.latest.get(record.id)?.usage ?? (await this.sample(record.id));
      const row: ContainerUsageDto = {
        id: record.id,
        name: record.name,
        jobId: record.jobId,
        repository: record.repository,
        resourceUsage: usage ? toResourceUsageDto(usage) : null,
      };
      return row;
    });
    const sum = (pick: (usage: ResourceUsage) => number) =>
      containers.reduce((total, row) => total + (row.resourceUsage ? pick(row.resourceUsage) : 0), 0);
    return {
      totalContainers: containers.length,
      totalCpuPercent: sum((u) => u.cpuPercent),
      totalMemoryMB: sum((u) => u.memoryUsage) / MEBIBYTE,
      totalNetworkRxMB: sum((u) => u.networkRx) / MEBIBYTE,
      totalNetworkTxMB: sum((u) => u.networkTx) / MEBIBYTE,
      containers,
    };
  }

  private async sample(id: string): Promise<ResourceUsage | null> {
    const sampling = this.manager.stats(id).catch((error: unknown) => {
      // Typically a container that stopped between the list and its sample: not worth a warning.
      this.logger.debug(`No usage sample of ${id}: ${error instanceof Error ? error.message : String(error)}`);
      return null;
    });
    const usage = await withDeadline(sampling, this.sampleTimeoutMs);
    if (usage === null) this.logger.warn(`No usage sample of ${id} within ${this.sampleTimeoutMs} ms, or none at all`);
    return usage;
  }
}
