import { EngineChangePayload, EngineEvent, errorMessage, JobState } from '@app/common';
import { JobEntity, JobRepository } from '@app/persistence';
import { Injectable, Logger } from '@nestjs/common';
import { OnEvent } from '@nestjs/event-emitter';
import { JobDispatcher } from './job-dispatcher.service';
import { JobTransitions } from './job-transitions.service';
import { RunnerRegistrations } from './runner-registrations.service';

/**
 * What orchestration does when an engine stops answering (the engine prober, on the leading replica, marks it
 * unreachable and publishes `engine:unreachable` there only, so this runs once): every job placed on it whose runner
 * has not been given its job yet (ASSIGNED) is queued again at once, to be placed elsewhere with a new runner, and its
 * old runner's registration is removed from GitHub. A job GitHub already handed to a runner there (RUNNING) is GitHub's
 * to conclude: its run died with the host, GitHub fails it once the runner stops answering, and the `completed`
 * webhook (or the stale sweep asking GitHub) settles it here; RunnerHub cannot run a job a second time on its own.
 * The containers left on the lost engine are reconciled when it answers again, and cleanup removes them: their jobs
 * have moved on. Any engine becoming active again, or joining, wakes the dispatcher for jobs waiting for room.
 */
@Injectable()
export class EngineLossResponder {
  private readonly logger = new Logger(EngineLossResponder.name);

  constructor(
    private readonly jobs: JobRepository,
    private readonly transitions: JobTransitions,
    private readonly registrations: RunnerRegistrations,
    private readonly dispatcher: JobDispatcher,
  ) {}

  @OnEvent(EngineEvent.Unreachable, { async: true })
  async onEngineLost({ engine }: EngineChangePayload): Promise<void> {
    try {
      const placed = (await this.jobs.findInStates([JobState.Assigned])).filter((job) => job.engineName === engine);
      let requeued = 0;
      for (const job of placed) if (await this.requeue(job, engine)) requeued++;
      if (requeued > 0)
        this.logger.warn(`Engine ${engine} is unreachable: ${requeued} job(s) queued again to run elsewhere`);
    } catch (error) {
      this.logger.warn(`Moving the jobs of unreachable engine ${engine} failed: ${errorMessage(error)}`);
    }
    this.dispatcher.kick();
  }

  @OnEvent(EngineEvent.Active)
  @OnEvent(EngineEvent.Added)
  @OnEvent(EngineEvent.Updated)
  onRoomMayHaveAppeared(): void {
    this.dispatcher.kick();
  }

  private async requeue(job: JobEntity, engine: string): Promise<boolean> {
    const moved = await this.transitions.move(job.id, {
      to: JobState.Queued,
      from: [JobState.Assigned],
      changes: {
        runnerId: null,
        containerId: null,
        engineName: null,
        placement: null,
        assignedAt: null,
        availableAt: null,
      },
      reason: `engine ${engine} is unreachable: queued again to run elsewhere`,
    });
    if (!moved) return false;
    // release() logs its own failures and never throws.
    if (job.runnerId) await this.registrations.release(job.runnerId, `its engine ${engine} is unreachable`);
    return true;
  }
}
