import { AppConfig } from '@app/common';
import { Duty, DutyLeadership } from '@app/persistence';
import { Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { SchedulerRegistry } from '@nestjs/schedule';
import { ContainerHealthChecker } from './container-health.checker';
import { UsageSampler } from './usage-sampler.service';

const STATS_INTERVAL = 'monitoring:stats';
const HEALTH_INTERVAL = 'monitoring:health';

/**
 * Runs the sampling rounds every STATS_INTERVAL_MS and the health checks every HEALTH_INTERVAL_MS. A round never
 * overlaps the one before it: when one runs long, the next tick is skipped rather than piled on. With replicas, each
 * round runs on the replica that leads its duty: one history row per sample, one alert per crossing.
 */
@Injectable()
export class MonitoringScheduler implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(MonitoringScheduler.name);
  private readonly busy = new Set<string>();
  private readonly running = new Set<Promise<void>>();

  constructor(
    private readonly config: AppConfig,
    private readonly scheduler: SchedulerRegistry,
    private readonly sampler: UsageSampler,
    private readonly health: ContainerHealthChecker,
    private readonly leadership: DutyLeadership,
  ) {}

  onApplicationBootstrap(): void {
    const { statsIntervalMs, healthIntervalMs } = this.config.monitoring;
    this.every(STATS_INTERVAL, 'monitoring-stats', statsIntervalMs, () => this.sample());
    this.every(HEALTH_INTERVAL, 'monitoring-health', healthIntervalMs, () => this.health.checkAll());
  }

  async onApplicationShutdown(): Promise<void> {
    for (const name of [STATS_INTERVAL, HEALTH_INTERVAL]) {
      if (this.scheduler.doesExist('interval', name)) this.scheduler.deleteInterval(name);
    }
    await Promise.allSettled(this.running);
  }

  // The sample history is pruned by the retention job (libs/cleanup), with the other records that age out.
  private async sample(): Promise<void> {
    const round = await this.sampler.sampleAll();
    this.logger.debug(`Sampled ${round.sampled}/${round.containers} containers in ${Math.round(round.wallMs)} ms`);
  }

  private every(name: string, duty: Duty, intervalMs: number, work: () => Promise<unknown>): void {
    const tick = () => {
      if (this.busy.has(name) || !this.leadership.isLeader(duty)) return;
      this.busy.add(name);
      const run = this.leadership
        .runIfLeader(duty, work)
        .then(() => undefined)
        .catch((error: unknown) =>
          this.logger.warn(`${name} failed: ${error instanceof Error ? error.message : String(error)}`),
        )
        .finally(() => {
          this.busy.delete(name);
          this.running.delete(run);
        });
      this.running.add(run);
    };
    this.scheduler.addInterval(name, setInterval(tick, intervalMs));
  }
}
