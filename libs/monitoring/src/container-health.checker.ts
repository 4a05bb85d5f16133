import { AppConfig, ContainerState, DomainError, ErrorCode, mapConcurrently, withDeadline } from '@app/common';
import { EngineRegistry } from '@app/docker';
import { ContainerLifecycleManager, EngineStateSync } from '@app/lifecycle';
import { ContainerRecordEntity } from '@app/persistence';
import { Injectable, Logger } from '@nestjs/common';
import { LatestUsageStore } from './latest-usage.store';
import { runningContainers } from './running-containers';

/** States an operation passes through; a record found in one long after is an interrupted operation. */
const INTERRUPTIBLE = [
  ContainerState.Creating,
  ContainerState.Starting,
  ContainerState.Stopping,
  ContainerState.Removing,
];

export interface HealthRound {
  /** Every engine of the fleet answered (records on one that did not are left for the next round). */
  engineAnswers: boolean;
  checked: number;
  /** RUNNING records whose container was found not running, and corrected. */
  corrected: number;
  unhealthy: number;
}

/**
 * The periodic health check: the engine answers, each RUNNING record's container really runs, and what the image's
 * own HEALTHCHECK says. Drift (a container that died while the event stream was away) is corrected through the
 * lifecycle's own state sync, under the container's lock and the transition table, never behind its back.
 */
@Injectable()
export class ContainerHealthChecker {
  private readonly logger = new Logger(ContainerHealthChecker.name);
  /** Engines found not answering, so that each outage is logged once, and its end once. */
  private readonly enginesDown = new Set<string>();

  constructor(
    private readonly config: AppConfig,
    private readonly engines: EngineRegistry,
    private readonly lifecycle: ContainerLifecycleManager,
    private readonly stateSync: EngineStateSync,
    private readonly latest: LatestUsageStore,
  ) {}

  async checkAll(): Promise<HealthRound> {
    const answering = await this.answeringEngines();
    if (answering.size === 0) return { engineAnswers: false, checked: 0, corrected: 0, unhealthy: 0 };
    const running = (await runningContainers(this.lifecycle)).filter((record) => answering.has(record.engineName));
    const outcomes = await mapConcurrently(running, this.config.monitoring.healthConcurrency, (record) =>
      this.check(record),
    );
    const settled = await this.settleInterrupted();
    return {
      engineAnswers: answering.size === this.engines.all().length,
      checked: running.length,
      corrected: outcomes.filter((outcome) => outcome === 'corrected').length + settled,
      unhealthy: outcomes.filter((outcome) => outcome === 'unhealthy').length,
    };
  }

  /**
   * Records left half-way (STARTING, STOPPING...) for longer than a health interval: an operation whose last write
   * failed (the database away at that moment) leaves one, and no engine event will come for it again. Settled from
   * the engine under the container's lock, so an operation still under way is simply waited for.
   */
  private async settleInterrupted(): Promise<number> {
    const cutoff = Date.now() - this.config.monitoring.healthIntervalMs;
    const { items } = await this.lifecycle.list({ state: INTERRUPTIBLE }, { limit: 500, offset: 0 });
    let settled = 0;
    for (const record of items.filter((r) => r.stateChangedAt.getTime() < cutoff)) {
      if (await this.stateSync.reconcile(record.id).catch(() => false)) {
        settled++;
        this.logger.warn(`Container ${record.name} was left ${record.state}; settled from the engine`);
      }
    }
    return settled;
  }

  /** The engines that answer a ping now, pinged side by side. */
  private async answeringEngines(): Promise<Set<string>> {
    const answers = await Promise.all(
      this.engines.all().map(async ({ name, engine }) => {
        try {
          await engine.ping();
          if (this.enginesDown.delete(name)) this.logger.log(`Docker engine ${name} answers again`);
          return name;
        } catch (error) {
          if (!this.enginesDown.has(name)) {
            this.logger.error(
              `Docker engine ${name} does not answer: ${error instanceof Error ? error.message : String(error)}`,
            );
          }
          this.enginesDown.add(name);
          return null;
        }
      }),
    );
    return new Set(answers.filter((name): name is string => name !== null));
  }

  private async check(record: ContainerRecordEntity): Promise<'ok' | 'corrected' | 'unhealthy' | 'skipped'> {
    try {
      const inspection = await withDeadline(this.lifecycle.inspect(record.id), this.config.monitoring.statsTimeoutMs);
      if (!inspection) return 'skipped';
      if (!inspection.state.running) return await this.correct(record, `found ${inspection.state.status}`);
      const health = inspection.state.health?.status ?? null;
      const previous = this.latest.get(record.id)?.health ?? null;
      this.latest.update({
        containerId: record.id,
        name: record.name,
        jobId: record.jobId,
        repository: record.repository,
        health,
      });
      if (health === 'unhealthy' && previous !== 'unhealthy') {
        this.logger.warn(`Container ${record.name} reports itself unhealthy (its image's HEALTHCHECK)`);
      }
      return health === 'unhealthy' ? 'unhealthy' : 'ok';
    } catch (error) {
      if (error instanceof DomainError && error.code === ErrorCode.NotFound) return this.correct(record, 'gone');
      // The record moved on between the list and the check (ILLEGAL_TRANSITION), or the engine hiccuped: next round.
      return 'skipped';
    }
  }

  private async correct(record: ContainerRecordEntity, what: string): Promise<'corrected' | 'skipped'> {
    const changed = await this.stateSync.reconcile(record.id);
    if (changed) this.logger.warn(`Container ${record.name} was recorded running but ${what} on the engine; corrected`);
    return changed ? 'corrected' : 'skipped';
  }
}
