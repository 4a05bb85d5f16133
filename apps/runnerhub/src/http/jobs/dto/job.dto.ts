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

  /**
   * Where the job's result comes from. `github`: a job GitHub queued (webhook); GitHub's `completed` conclusion
   * settles it, since a real runner exits 0 whatever the job's result. `exit-code`: a job queued through this API,
   * with no GitHub job behind it; its runner's exit code settles it (0 completed, anything else failed).
   */
  @ApiProperty({ enum: ['github', 'exit-code'] })
  resultSource!: 'github' | 'exit-code';

  /**
   * The runner that runs (or ran) it (GET /api/containers?runnerId=...). GitHub hands a queued job to any idle runner
   * whose labels match, so this can be a runner made for another job; null while none is, or when GitHub gave the
   * job to a runner this RunnerHub did not make (see githubRunnerName).
   */
  runnerId!: string | null;

  /** The container that runs (or ran) it. */
  containerId!: string | null;

  /** The runner GitHub reported running it (`workflow_job` in_progress), by name. */
  githubRunnerName!: string | null;

  /** The security profile its runner got: strict (default), standard (sudo works) or docker (its own daemon). */
  @ApiProperty({ enum: ['strict', 'standard', 'docker'], nullable: true, type: String })
  profile!: 'strict' | 'standard' | 'docker' | null;

  /** Why that profile: the label RUNNER_PROFILES ties to it, or the default. */
  profileReason!: string | null;

  /** The runner image's digest (sha256:...) as pulled from its registry; null for an image only on the engine. */
  imageDigest!: string | null;

  /** The engine its runner was placed on at its claim; null while it waits in the queue. */
  engineName!: string | null;

  /** Why that engine: `engine b: 3.1 GiB free of 8, 2 of 10 slots (spread)`. */
  placement!: string | null;

  /** Why a queued job still waits when no engine can take it: `no active engine has the labels gpu`. */
  waitingReason!: string | null;

  /** Tries made to start a runner for it. */
  attempts!: number;

  /** Why it failed or was cancelled, or why the last try to start its runner failed. */
  failureReason!: string | null;

  /**
   * Machine-readable cause of a failure: `JOB_FAILED` (GitHub concluded failure or timed_out), `RUNNER_FAILED` (an
   * API job's runner exited non-zero), `RUNNER_UNUSED` (runners kept ending without GitHub giving them the job),
   * `IMAGE_PULL_FAILED`, `IMAGE_NOT_FOUND`, or the code of the error that stopped its runner from starting.
   */
  failureCode!: string | null;

  /** GitHub's conclusion (success, failure, cancelled...), when GitHub reported the job completed. */
  conclusion!: string | null;

  queuedAt!: string;

  /** While a retry waits out its back-off: not before this time. */
  availableAt!: string | null;

  assignedAt!: string | null;

  startedAt!: string | null;

  finishedAt!: string | null;
}
