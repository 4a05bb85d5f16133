import { ContainerState } from '@app/common';
import type { ResourceUsage } from '@app/docker';
import { ContainerLifecycleManager } from '@app/lifecycle';
import type { ContainerRecordEntity } from '@app/persistence';
import { Inject, Injectable, Logger, Optional } from '@nestjs/common';
import { toResourceUsageDto } from './container.mapper';
import { ContainerUsageDto, UsageSummaryDto } from './dto/usage-summary.dto';

/** How long one container's sample may take before the summary lists it without one. */
export const USAGE_SAMPLE_TIMEOUT_MS = Symbol('USAGE_SAMPLE_TIMEOUT_MS');
const DEFAULT_SAMPLE_TIMEOUT_MS = 5_000;
/** Samples in flight at once: parallel calls share the engine's 1 s collector tick, sequential ones cost ~1 s each. */
const SAMPLE_CONCURRENCY = 32;
const PAGE_SIZE = 500;
const MEBIBYTE = 1024 * 1024;

/**
 * Resource usage of every running container, sampled now and in parallel. Each sample has its own deadline, so one
 * stuck container costs at most that deadline and is listed with `resourceUsage: null` rather than stalling the rest.
 */
@Injectable()
export class ContainerUsageService {
  private readonly logger = new Logger(ContainerUsageService.name);
  private readonly sampleTimeoutMs: number;

  constructor(
    private readonly manager: ContainerLifecycleManager,
    @Optional() @Inject(USAGE_SAMPLE_TIMEOUT_MS) sampleTimeoutMs?: number,
  ) {
    this.sampleTimeoutMs = sampleTimeoutMs ?? DEFAULT_SAMPLE_TIMEOUT_MS;
  }

  async summary(): Promise<UsageSummaryDto> {
    const running = await this.runningContainers();
    const containers = await mapConcurrently(running, SAMPLE_CONCURRENCY, async (record) => {
      const usage = await this.sample(record.id);
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

  private async runningContainers(): Promise<ContainerRecordEntity[]> {
    const all: ContainerRecordEntity[] = [];
    for (let offset = 0; ; offset += PAGE_SIZE) {
      const { items, total } = await this.manager.list({ state: ContainerState.Running }, { limit: PAGE_SIZE, offset });
      all.push(...items);
      if (items.length < PAGE_SIZE || all.length >= total) return all;
    }
  }

  private async sample(id: string): Promise<ResourceUsage | null> {
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), this.sampleTimeoutMs);
    });
    const sampling = this.manager.stats(id).catch((error: unknown) => {
      // Typically a container that stopped between the list and its sample: not worth a warning.
      this.logger.debug(`No usage sample of ${id}: ${error instanceof Error ? error.message : String(error)}`);
      return null;
    });
    try {
      const usage = await Promise.race([sampling, deadline]);
      if (usage !== 'timeout') return usage;
      this.logger.warn(`No usage sample of ${id} within ${this.sampleTimeoutMs} ms; listed without one`);
      return null;
    } finally {
      clearTimeout(timer);
    }
  }
}

/** `work` over every item with at most `limit` in flight, results in the items' order. */
async function mapConcurrently<T, R>(items: T[], limit: number, work: (item: T) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const index = next++;
      results[index] = await work(items[index]);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}
