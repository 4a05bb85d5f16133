import { JobState } from '@app/common';
import { ApiProperty } from '@nestjs/swagger';

/** A job in RunnerHub's queue and what became of it. Runner credentials are never part of it. */
export class JobDto {
  id!: string;

  @ApiProperty({ enum: JobState, enumName: 'JobState' })
  state!: JobState;

  /** `owner/name` */
  repository!: string;

  labels!: string[];

  /** The runner image asked for; null means RUNNER_IMAGE. */
  image!: string | null;

  /** GitHub's workflow job id (as text), when the job came from GitHub. */
  githubJobId!: string | null;

  githubRunId!: string | null;

  /** The runner registered for it (GET /api/containers?runnerId=...). */
  runnerId!: string | null;

  /** The container that runs (or ran) it. */
  containerId!: string | null;

  /** Tries made to start a runner for it. */
  attempts!: number;

  /** Why it failed or was cancelled, or why the last try to start its runner failed. */
  failureReason!: string | null;

  /** GitHub's conclusion (success, failure, cancelled...), when GitHub reported the job completed. */
  conclusion!: string | null;

  queuedAt!: string;

  /** While a retry waits out its back-off: not before this time. */
  availableAt!: string | null;

  assignedAt!: string | null;

  startedAt!: string | null;

  finishedAt!: string | null;
}
