import { ContainerEvent, ContainerTransitionPayload, JobEvent, PoolEvent } from '@app/common';
import { Injectable, Logger } from '@nestjs/common';
import { OnEvent } from '@nestjs/event-emitter';
import { JobDispatcher } from './job-dispatcher.service';
import { JobSettlement } from './job-settlement.service';
import { RunnerRegistrations } from './runner-registrations.service';

/**
 * How orchestration hears about the world: a runner container that ends settles its job, one that is removed
 * takes its own runner off GitHub (never a runner it merely names), and any job that queues or finishes, or any
 * container that ends or goes (it may have held a slot), makes the dispatcher look at the queue again.
 * Listeners never throw back into the emitter: what fails here is logged, and the dispatcher's sweep repairs it.
 */
@Injectable()
export class OrchestrationEventsListener {
  private readonly logger = new Logger(OrchestrationEventsListener.name);

  constructor(
    private readonly settlement: JobSettlement,
    private readonly registrations: RunnerRegistrations,
    private readonly dispatcher: JobDispatcher,
  ) {}

  @OnEvent(ContainerEvent.Stopped, { async: true })
  @OnEvent(ContainerEvent.Error, { async: true })
  async onContainerEnded(payload: ContainerTransitionPayload): Promise<void> {
    if (payload.jobId) {
      await this.guard(`settling the job of container ${payload.containerId}`, () =>
        this.settlement.settleFromContainer(payload.containerId),
      );
    } else if (payload.runnerId) {
      // A warm pool's runner that ended while idle: GitHub must not keep listing it.
      await this.guard(`releasing runner ${payload.runnerId}`, () =>
        this.registrations.releaseOwnedBy(payload.runnerId!, payload.containerId, 'it ended before it got a job'),
      );
    }
    this.dispatcher.kick();
  }

  @OnEvent(ContainerEvent.Removed, { async: true })
  async onContainerRemoved(payload: ContainerTransitionPayload): Promise<void> {
    if (payload.runnerId) {
      await this.guard(`releasing runner ${payload.runnerId}`, () =>
        this.registrations.releaseOwnedBy(payload.runnerId!, payload.containerId, 'its container was removed'),
      );
    }
    // A container removed before it ever ran (created, never started) let go of its slot only now.
    this.dispatcher.kick();
  }

  @OnEvent(JobEvent.Queued)
  @OnEvent(JobEvent.Completed)
  @OnEvent(JobEvent.Failed)
  @OnEvent(JobEvent.Cancelled)
  // A warm pool's runner is up: a queued job it serves takes it now.
  @OnEvent(PoolEvent.RunnerStarted)
  onQueueChanged(): void {
    this.dispatcher.kick();
  }

  private async guard(what: string, work: () => Promise<unknown>): Promise<void> {
    try {
      await work();
    } catch (error) {
      this.logger.warn(`Failed ${what}: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
}
