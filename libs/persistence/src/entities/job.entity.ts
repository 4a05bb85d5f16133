import { JobState, RunnerProfileName } from '@app/common';
import { Column, CreateDateColumn, Entity, Index, PrimaryColumn, UpdateDateColumn, VersionColumn } from 'typeorm';

/**
 * A GitHub Actions job in RunnerHub's queue. The queue lives here, in the database, so jobs survive a restart and
 * several replicas share one queue (claimed with FOR UPDATE SKIP LOCKED on PostgreSQL).
 */
@Entity({ name: 'jobs' })
@Index('idx_jobs_state_queued', ['state', 'queuedAt'])
@Index('idx_jobs_repository', ['repository'])
@Index('idx_jobs_runner', ['runnerId'])
export class JobEntity {
  @PrimaryColumn({ type: 'varchar', length: 36 })
  id!: string;

  @Column({ type: 'varchar', length: 16 })
  state!: JobState;

  @Column({ type: 'varchar', length: 256 })
  repository!: string;

  /** The runner labels the job asked for (`runs-on`). */
  @Column({ type: 'simple-json' })
  labels!: string[];

  /** The job's own runner image; null means RUNNER_IMAGE. */
  @Column({ type: 'varchar', length: 512, nullable: true })
  image!: string | null;

  /** GitHub's workflow job id, as text: the ids outgrow 32-bit integers and SQLite and pg disagree on bigint. */
  @Column({ type: 'varchar', length: 32, nullable: true, unique: true })
  githubJobId!: string | null;

  @Column({ type: 'varchar', length: 32, nullable: true })
  githubRunId!: string | null;

  @Column({ type: 'varchar', length: 128, nullable: true })
  runnerId!: string | null;

  /** The container record that runs the job. */
  @Column({ type: 'varchar', length: 36, nullable: true })
  containerId!: string | null;

  @Column({ type: 'text', nullable: true })
  failureReason!: string | null;

  /** GitHub's conclusion of the job (success, failure, cancelled...), when a `completed` webhook said it. */
  @Column({ type: 'varchar', length: 32, nullable: true })
  conclusion!: string | null;

  /** Machine-readable cause of a failure (`IMAGE_PULL_FAILED`, `GITHUB_REJECTED`...); null otherwise. */
  @Column({ type: 'varchar', length: 32, nullable: true })
  failureCode!: string | null;

  /** The security profile its runner got (strict, standard, docker); null until a runner is made. */
  @Column({ type: 'varchar', length: 16, nullable: true })
  profile!: RunnerProfileName | null;

  /** Why that profile: the label that chose it, or the default. */
  @Column({ type: 'text', nullable: true })
  profileReason!: string | null;

  /** The image its runner ran, as the registry's digest (sha256:...); null for an image that never came from one. */
  @Column({ type: 'varchar', length: 128, nullable: true })
  imageDigest!: string | null;

  /**
   * The runner GitHub says runs the job (`workflow_job` in_progress): GitHub hands a queued job to any idle runner
   * whose labels match, so this may be a runner made for another job, or one RunnerHub did not make at all.
   */
  @Column({ type: 'varchar', length: 64, nullable: true })
  githubRunnerName!: string | null;

  /** The engine the job's runner is placed on (at its claim, under the slot lock); null while queued. */
  @Column({ type: 'varchar', length: 63, nullable: true })
  engineName!: string | null;

  /** Why it was placed there (see ContainerRecordEntity.placement). */
  @Column({ type: 'text', nullable: true })
  placement!: string | null;

  /** Why a queued job is still waiting, when no engine can take it (`no active engine has the labels gpu`). */
  @Column({ type: 'text', nullable: true })
  waitingReason!: string | null;

  /** The last runner was too old for GitHub: the next one pulls its image again first. */
  @Column({ type: 'boolean', default: false })
  refreshImage!: boolean;

  /** Container creations tried for this job (retried with back-off, then the job fails). */
  @Column({ type: 'integer', default: 0 })
  attempts!: number;

  /** Set by the application to the millisecond (SQLite's own default has whole seconds): the queue's order. */
  @Column({ type: Date })
  queuedAt!: Date;

  /** Not claimed before this time: a retry waits out its back-off here, in the database, across restarts. */
  @Column({ type: Date, nullable: true })
  availableAt!: Date | null;

  @Column({ type: Date, nullable: true })
  assignedAt!: Date | null;

  @Column({ type: Date, nullable: true })
  startedAt!: Date | null;

  @Column({ type: Date, nullable: true })
  finishedAt!: Date | null;

  @CreateDateColumn()
  createdAt!: Date;

  @UpdateDateColumn()
  updatedAt!: Date;

  @VersionColumn()
  version!: number;
}
