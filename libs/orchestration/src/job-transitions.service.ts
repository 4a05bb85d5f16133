import {
  canMoveJob,
  DomainError,
  ErrorCode,
  EVENT_FOR_JOB_STATE,
  EventPublisher,
  JobState,
  JobTransitionPayload,
} from '@app/common';
import { JobChanges, JobEntity, JobRepository } from '@app/persistence';
import { Injectable } from '@nestjs/common';

export interface JobMove {
  to: JobState;
  /** Only from these states; absent means from any state the table allows. */
  from?: readonly JobState[];
  changes?: JobChanges;
  reason: string;
}

const MAX_CONFLICT_RETRIES = 5;

/**
 * The one way a job changes state: the move is checked against the job table, written with the version the writer
 * read (so two writers never both win), and announced as a `job:*` event only once it is stored. Several parties
 * race for the same job (the dispatcher, a webhook, a container that exits, an operator cancelling): each re-reads
 * and re-checks on a lost race instead of overwriting.
 */
@Injectable()
export class JobTransitions {
  constructor(
    private readonly jobs: JobRepository,
    private readonly events: EventPublisher,
  ) {}

  /** Moves the job if the move is still legal from its current state; null when it is not (someone got there first). */
  async move(jobId: string, move: JobMove): Promise<JobEntity | null> {
    for (let attempt = 0; attempt < MAX_CONFLICT_RETRIES; attempt++) {
      const current = await this.require(jobId);
      if (!this.allows(current, move)) return null;
      const moved = await this.write(current, move);
      if (moved) return moved;
    }
    throw new DomainError(ErrorCode.Conflict, `Job ${jobId} keeps changing under this request; try again`, { jobId });
  }

  /** As {@link move}, but a move that is not legal is the caller's mistake: ILLEGAL_TRANSITION naming the state. */
  async moveOrRefuse(jobId: string, move: JobMove, action: string): Promise<JobEntity> {
    const moved = await this.move(jobId, move);
    if (moved) return moved;
    const current = await this.require(jobId);
    throw new DomainError(ErrorCode.IllegalTransition, `Job ${jobId} is ${current.state} and cannot ${action}`, {
      jobId,
      state: current.state,
    });
  }

  /** Records facts about a job (its runner, its container) while it is still in `state`; null if it has moved on. */
  async annotate(jobId: string, state: JobState, changes: JobChanges): Promise<JobEntity | null> {
    for (let attempt = 0; attempt < MAX_CONFLICT_RETRIES; attempt++) {
      const current = await this.require(jobId);
      if (current.state !== state) return null;
      try {
        return await this.jobs.update(current.id, current.version, changes);
      } catch (error) {
        if (!isConflict(error)) throw error;
      }
    }
    return null;
  }

  /** Announces a job that arrived in its state without a move through here: queued, or claimed by the dispatcher. */
  announce(job: JobEntity, previousState: JobState | null, reason: string): void {
    this.events.publish(EVENT_FOR_JOB_STATE[job.state], toPayload(job, previousState, reason));
  }

  private allows(job: JobEntity, move: JobMove): boolean {
    if (move.from && !move.from.includes(job.state)) return false;
    return canMoveJob(job.state, move.to);
  }

  private async write(current: JobEntity, move: JobMove): Promise<JobEntity | null> {
    try {
      const moved = await this.jobs.update(current.id, current.version, { ...move.changes, state: move.to });
      this.announce(moved, current.state, move.reason);
      return moved;
    } catch (error) {
      if (isConflict(error)) return null;
      throw error;
    }
  }

  private async require(jobId: string): Promise<JobEntity> {
    const job = await this.jobs.findById(jobId);
    if (!job) throw new DomainError(ErrorCode.NotFound, `Job ${jobId} does not exist`, { jobId });
    return job;
  }
}

function isConflict(error: unknown): boolean {
  return error instanceof DomainError && error.code === ErrorCode.Conflict;
}

function toPayload(job: JobEntity, previousState: JobState | null, reason: string): JobTransitionPayload {
  return {
    jobId: job.id,
    previousState,
    state: job.state,
    repository: job.repository,
    labels: job.labels,
    githubJobId: job.githubJobId,
    runnerId: job.runnerId,
    containerId: job.containerId,
    attempts: job.attempts,
    reason,
    queuedAt: job.queuedAt.toISOString(),
    // Not updatedAt: SQLite's column default keeps whole seconds.
    at: new Date().toISOString(),
  };
}
