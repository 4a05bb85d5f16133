import { AppConfig } from '@app/common';
import { DutyLeadership } from '@app/persistence';
import { Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { SchedulerRegistry } from '@nestjs/schedule';
import { CleanupService } from './cleanup.service';

const CLEANUP_INTERVAL = 'cleanup:scan';

/**
 * A cleanup scan every CLEANUP_INTERVAL_MS on the replica that leads the `cleanup` duty; a tick while a scan still runs
 * is skipped by the service.
 */
@Injectable()
export class CleanupScheduler implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(CleanupScheduler.name);
  private current: Promise<unknown> | null = null;

  constructor(
    private readonly config: AppConfig,
    private readonly scheduler: SchedulerRegistry,
    private readonly cleanup: CleanupService,
    private readonly leadership: DutyLeadership,
  ) {}

  onApplicationBootstrap(): void {
    const tick = () => {
      this.current = this.leadership
        .runIfLeader('cleanup', () => this.cleanup.run('schedule'))
        .catch((error: unknown) =>
          this.logger.warn(`Cleanup scan failed: ${error instanceof Error ? error.message : String(error)}`),
        );
    };
    this.scheduler.addInterval(CLEANUP_INTERVAL, setInterval(tick, this.config.cleanup.intervalMs));
  }

  async onApplicationShutdown(): Promise<void> {
    if (this.scheduler.doesExist('interval', CLEANUP_INTERVAL)) this.scheduler.deleteInterval(CLEANUP_INTERVAL);
    await this.current;
  }
}
