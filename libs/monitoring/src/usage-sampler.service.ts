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
 * becomes the container's latest, a row of the history, and input to the alerts. A stream is opened as its container
 * starts (ContainerStatsFollower) or at the first round that finds it running, and `latestOf` reads it between rounds.
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
    const listedAt = Date.now();
    const running = (await runningContainers(this.lifecycle)).filter((record) => record.engineId !== null);
    this.forgetStopped(running, listedAt);
    const oldest = Date.now() - this.config.monitoring.statsTimeoutMs;
    const taken: Sampled[] = [];
    for (const record of running) {
      this.follow(record);
      const usage = this.streamed(record);
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

  /**
   * Opens the stats stream of a running container unless it is open: its engine then pushes a sample a second, so the
   * container has one in memory about a second after it started, long before the next round.
   */
  follow(record: StreamedContainer): void {
    if (record.engineId) this.engines.find(record.engineName)?.stats.follow(record.engineId);
  }

  /** Closes the stats stream of a container that stopped running (engine ids are unique across engines). */
  unfollow(engineId: string): void {
    for (const { stats } of this.engines.all()) stats.unfollow(engineId);
  }

  /**
   * The newest sample of a container that is in memory, without asking the engine: its stream's latest frame, or the
   * one a caller had taken on the spot if that is newer; null before either exists.
   */
  latestOf(record: StreamedContainer & Pick<ContainerRecordEntity, 'id'>): ResourceUsage | null {
    const streamed = this.streamed(record);
    const kept = this.latest.get(record.id)?.usage ?? null;
    if (!streamed || !kept) return streamed ?? kept;
    return kept.sampledAt > streamed.sampledAt ? kept : streamed;
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

  private streamed(record: StreamedContainer): ResourceUsage | null {
    return record.engineId ? (this.engines.find(record.engineName)?.stats.latest(record.engineId) ?? null) : null;
  }

  /** `listedAt`: when `running` was asked for; streams opened since (containers started since) are kept. */
  private forgetStopped(running: ContainerRecordEntity[], listedAt: number): void {
    const ids = new Set(running.map((record) => record.id));
    for (const { name, stats } of this.engines.all()) {
      const engineIds = new Set(running.filter((record) => record.engineName === name).map((r) => r.engineId!));
      stats.retainOnly(engineIds, listedAt);
    }
    this.latest.retainOnly(ids);
    for (const id of this.alerts.tracked()) if (!ids.has(id)) this.alerts.forget(id);
  }
}

/** What names a container's stats stream: its engine, and its id there (null before it was created). */
type StreamedContainer = Pick<ContainerRecordEntity, 'engineName' | 'engineId'>;

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
