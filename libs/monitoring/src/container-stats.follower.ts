import { ContainerEvent, ContainerState, ContainerTransitionPayload } from '@app/common';
import { ContainerLifecycleManager } from '@app/lifecycle';
import { Injectable, Logger } from '@nestjs/common';
import { OnEvent } from '@nestjs/event-emitter';
import { UsageSampler } from './usage-sampler.service';

/**
 * Opens a container's stats stream as it starts and closes it as it stops, so that a container has a sample in memory
 * about a second after its start rather than at the next sampling round (30 s by default): readers of the latest
 * samples, the usage summary first, never have to sample on their caller's time. The rounds still open the stream of
 * whatever runs and drop what stopped, which covers containers this replica did not start and any event missed here.
 */
@Injectable()
export class ContainerStatsFollower {
  private readonly logger = new Logger(ContainerStatsFollower.name);

  constructor(
    private readonly lifecycle: ContainerLifecycleManager,
    private readonly sampler: UsageSampler,
  ) {}

  @OnEvent(ContainerEvent.Started, { async: true })
  async onStarted({ containerId }: ContainerTransitionPayload): Promise<void> {
    try {
      // The event does not name the engine; the record, written before the event was published, does.
      const record = await this.lifecycle.get(containerId);
      if (record.state === ContainerState.Running) this.sampler.follow(record);
    } catch (error) {
      // Removed already, or the database is away: the next round opens the stream of whatever still runs.
      this.logger.debug(
        `No stats stream for ${containerId}: ${error instanceof Error ? error.message : String(error)}`,
      );
    }
  }

  @OnEvent(ContainerEvent.Stopped)
  @OnEvent(ContainerEvent.Error)
  onStopped({ engineId }: ContainerTransitionPayload): void {
    if (engineId) this.sampler.unfollow(engineId);
  }
}
