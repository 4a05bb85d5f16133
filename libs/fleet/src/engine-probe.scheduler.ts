import { AppConfig, errorMessage } from '@app/common';
import { DutyLeadership } from '@app/persistence';
import { Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { SchedulerRegistry } from '@nestjs/schedule';
import { EngineProber } from './engine-prober';

const PROBE_INTERVAL = 'fleet:engine-probe';

/**
 * A probe round every ENGINE_PROBE_INTERVAL_MS on the replica that leads the `engine-probe` duty. A tick while the
 * previous round is still judging is skipped; probes themselves never hold a round up (see EngineProber).
 */
@Injectable()
export class EngineProbeScheduler implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('Fleet');
  private current: Promise<unknown> | null = null;

  constructor(
    private readonly config: AppConfig,
    private readonly scheduler: SchedulerRegistry,
    private readonly prober: EngineProber,
    private readonly leadership: DutyLeadership,
  ) {}

  onApplicationBootstrap(): void {
    const tick = () => {
      if (this.current) return;
      this.current = this.leadership
        .runIfLeader('engine-probe', () => this.prober.round())
        .catch((error: unknown) => this.logger.warn(`Engine probe round failed: ${errorMessage(error)}`))
        .finally(() => (this.current = null));
    };
    this.scheduler.addInterval(PROBE_INTERVAL, setInterval(tick, this.config.engineProbe.intervalMs));
  }

  async onApplicationShutdown(): Promise<void> {
    if (this.scheduler.doesExist('interval', PROBE_INTERVAL)) this.scheduler.deleteInterval(PROBE_INTERVAL);
    this.prober.stop();
    await this.current;
  }
}
