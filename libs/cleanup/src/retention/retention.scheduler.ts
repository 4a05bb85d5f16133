import { AppConfig } from '@app/common';
import { DutyLeadership } from '@app/persistence';
import { Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { SchedulerRegistry } from '@nestjs/schedule';
import { RecordRetention } from './record-retention.service';

const RETENTION_INTERVAL = 'retention:prune';
const RETENTION_FIRST_RUN = 'retention:first-run';
/**
 * The first run comes shortly after start rather than one RETENTION_INTERVAL_MS (an hour) later, so that a service
 * restarted often still prunes; not at once, so that it does not compete with start-up's own work.
 */
const FIRST_RUN_DELAY_MS = 5_000;

/** Runs the retention job every RETENTION_INTERVAL_MS, and once shortly after start, when this replica leads it. */
@Injectable()
export class RetentionScheduler implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(RetentionScheduler.name);
  private current: Promise<unknown> | null = null;

  constructor(
    private readonly config: AppConfig,
    private readonly scheduler: SchedulerRegistry,
    private readonly retention: RecordRetention,
    private readonly leadership: DutyLeadership,
  ) {}

  onApplicationBootstrap(): void {
    const tick = () => {
      this.current = this.leadership
        .runIfLeader('retention', () => this.retention.run())
        .catch((error: unknown) =>
          this.logger.warn(`Retention run failed: ${error instanceof Error ? error.message : String(error)}`),
        );
    };
    const firstRunMs = Math.min(FIRST_RUN_DELAY_MS, this.config.retention.intervalMs);
    this.scheduler.addTimeout(RETENTION_FIRST_RUN, setTimeout(tick, firstRunMs));
    this.scheduler.addInterval(RETENTION_INTERVAL, setInterval(tick, this.config.retention.intervalMs));
  }

  async onApplicationShutdown(): Promise<void> {
    if (this.scheduler.doesExist('timeout', RETENTION_FIRST_RUN)) this.scheduler.deleteTimeout(RETENTION_FIRST_RUN);
    if (this.scheduler.doesExist('interval', RETENTION_INTERVAL)) this.scheduler.deleteInterval(RETENTION_INTERVAL);
    await this.current;
  }
}
