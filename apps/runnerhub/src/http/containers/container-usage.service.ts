import { AppConfig } from '@app/common';
import type { ResourceUsage } from '@app/docker';
import { ContainerLifecycleManager } from '@app/lifecycle';
import { runningContainers, UsageSampler } from '@app/monitoring';
import type { ContainerRecordEntity } from '@app/persistence';
import { Injectable } from '@nestjs/common';
import { toResourceUsageDto } from './container.mapper';
import { ContainerUsageDto, UsageSummaryDto } from './dto/usage-summary.dto';

const MEBIBYTE = 1024 * 1024;
/** Sampling rounds a sample may miss before it is called stale: one late round is jitter, two are a stalled stream. */
const STALE_AFTER_INTERVALS = 2;

/**
 * Resource usage of every running container, from the latest samples in memory (each container's stats stream, opened
 * as it starts): one database read of the running containers and no engine call, so the answer never waits for a
 * sample. Each row says how old its sample is instead; a container too new to have one is listed without figures.
 */
@Injectable()
export class ContainerUsageService {
  private readonly staleAfterMs: number;

  constructor(
    private readonly manager: ContainerLifecycleManager,
    private readonly sampler: UsageSampler,
    config: AppConfig,
  ) {
    this.staleAfterMs = STALE_AFTER_INTERVALS * config.monitoring.statsIntervalMs;
  }

  async summary(): Promise<UsageSummaryDto> {
    const running = await runningContainers(this.manager);
    const now = Date.now();
    const containers = running.map((record) => this.row(record, this.sampler.latestOf(record), now));
    const sampled = containers.flatMap((row) => (row.resourceUsage ? [row.resourceUsage] : []));
    const sum = (pick: (usage: ResourceUsage) => number) => sampled.reduce((total, usage) => total + pick(usage), 0);
    return {
      totalContainers: containers.length,
      totalCpuPercent: sum((u) => u.cpuPercent),
      totalMemoryMB: sum((u) => u.memoryUsage) / MEBIBYTE,
      totalNetworkRxMB: sum((u) => u.networkRx) / MEBIBYTE,
      totalNetworkTxMB: sum((u) => u.networkTx) / MEBIBYTE,
      staleAfterMs: this.staleAfterMs,
      staleContainers: containers.filter((row) => row.stale).length,
      awaitingFirstSample: containers.length - sampled.length,
      containers,
    };
  }

  private row(record: ContainerRecordEntity, usage: ResourceUsage | null, now: number): ContainerUsageDto {
    const identity = { id: record.id, name: record.name, jobId: record.jobId, repository: record.repository };
    if (!usage) {
      return {
        ...identity,
        resourceUsage: null,
        sampledAt: null,
        ageMs: null,
        stale: false,
        awaitingFirstSample: true,
      };
    }
    // A remote engine's clock may run a little ahead of ours: a sample is never younger than now.
    const ageMs = Math.max(0, now - usage.sampledAt.getTime());
    return {
      ...identity,
      resourceUsage: toResourceUsageDto(usage),
      sampledAt: usage.sampledAt,
      ageMs,
      stale: ageMs > this.staleAfterMs,
      awaitingFirstSample: false,
    };
  }
}
