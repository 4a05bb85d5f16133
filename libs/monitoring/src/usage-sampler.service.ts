import { AppConfig } from '@app/common';
import { EngineRegistry, type ResourceUsage } from '@app/docker';
import { ContainerLifecycleManager } from '@app/lifecycle';
import { ContainerRecordEntity, ContainerStatsRepository } from '@app/persistence';
import { Injectable, Logger } from '@nestjs/common';
import { LatestUsageStore } from './latest-usage.store';
import { ResourceAlerts } from './resource-alerts.service';
import { runningContainers } from './running-containers';

export interface SamplingRound {
  containers: number;
  sampled: number;
  /** Containers without a fresh sample (just started, or a stalled stream); they keep their previous one. */
  missed: number;
  wallMs: number;
  /** CPU time this process spent on the round (user + system), in milliseconds; the streams' cost is not in it. */
  cpuMs: number;
  at: Date;
}

/**
 * One sampling round over every RUNNING container. The samples come from the stats stream of each container on its
 * own engine (ContainerStatsStreams, one sample a second pushed by the engine), so a round makes no request per container and
 * waits for nobody: a container whose stream stalls has no fresh sample and keeps its previous one. Each fresh sample
 * becomes the container's latest, a row of the history, and input to the alerts.
 */
@Injectable()
export class UsageSampler {
  private readonly logger = new Logger(UsageSampler.name);
  private lastRound: SamplingRound | null = null;

  constructor(
    private readonly config: AppConfig,
    private readonly lifecycle: ContainerLifecycleManager,
    private readonly engines: EngineRegistry,
    private readonly latest: LatestUsageStore,
    private readonly history: ContainerStatsRepository,
    private readonly alerts: ResourceAlerts,
  ) {}

  get last(): SamplingRound | null {
    return this.lastRound;
  }

  async sampleAll(): Promise<SamplingRound> {
    const started = performance.now();
    const cpuBefore = process.cpuUsage();
    const running = (await runningContainers(this.lifecycle)).filter((record) => record.engineId !== null);
    this.forgetStopped(running);
    const oldest = Date.now() - this.config.monitoring.statsTimeoutMs;
    const taken: Sampled[] = [];
    for (const record of running) {
      const streams = this.engines.find(record.engineName)?.stats;
      if (!streams) continue;
      streams.follow(record.engineId!);
      const usage = streams.latest(record.engineId!);
      if (!usage || usage.sampledAt.getTime() < oldest) continue;
      if (this.latest.get(record.id)?.usage?.sampledAt.getTime() === usage.sampledAt.getTime()) continue;
      this.remember(record, usage);
      taken.push({ record, usage });
    }
    await this.history.append(taken.map(({ record, usage }) => toHistoryRow(record, usage)));
    const cpu = process.cpuUsage(cpuBefore);
    this.lastRound = {
      containers: running.length,
      sampled: taken.length,
      missed: running.length - taken.length,
      wallMs: performance.now() - started,
      cpuMs: (cpu.user + cpu.system) / 1000,
      at: new Date(),
    };
    if (this.lastRound.missed > 0) this.logger.debug(`${this.lastRound.missed} containers have no fresh sample yet`);
    return this.lastRound;
  }

  /** A sample taken now, outside the rounds (an API caller asking for one container); it becomes the latest too. */
  async sampleOne(record: ContainerRecordEntity): Promise<ResourceUsage> {
    const usage = await this.lifecycle.stats(record.id);
    this.remember(record, usage);
    return usage;
  }

  private remember(record: ContainerRecordEntity, usage: ResourceUsage): void {
    const subject = { containerId: record.id, name: record.name, jobId: record.jobId, repository: record.repository };
    this.latest.update({ ...subject, usage });
    this.alerts.evaluate(subject, usage);
  }

  private forgetStopped(running: ContainerRecordEntity[]): void {
    const ids = new Set(running.map((record) => record.id));
    for (const { name, stats } of this.engines.all()) {
      stats.retainOnly(new Set(running.filter((record) => record.engineName === name).map((r) => r.engineId!)));
    }
    this.latest.retainOnly(ids);
    for (const id of this.alerts.tracked()) if (!ids.has(id)) this.alerts.forget(id);
  }
}

interface Sampled {
  record: ContainerRecordEntity;
  usage: ResourceUsage;
}

function toHistoryRow(record: ContainerRecordEntity, usage: ResourceUsage) {
  return {
    containerId: record.id,
    sampledAt: usage.sampledAt,
    cpuPercent: usage.cpuPercent,
    memoryUsage: usage.memoryUsage,
    memoryLimit: usage.memoryLimit,
    networkRx: usage.networkRx,
    networkTx: usage.networkTx,
    blockRead: usage.blockRead,
    blockWrite: usage.blockWrite,
    pids: usage.pids,
  };
}
