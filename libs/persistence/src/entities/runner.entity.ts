import { Column, CreateDateColumn, Entity, Index, PrimaryColumn, UpdateDateColumn, VersionColumn } from 'typeorm';

/** Where a registered runner is in its short life. Ephemeral runners go IDLE -> BUSY -> OFFLINE and never return. */
export enum RunnerStatus {
  /** Registered with GitHub; its container is being made or started. */
  Idle = 'idle',
  /** Its container runs and the runner is taking (or has taken) its one job. */
  Busy = 'busy',
  /** Its container has ended; it will not take another job. */
  Offline = 'offline',
}

/** How the runner proved itself to GitHub: a just-in-time configuration, or a registration token. */
export type RunnerRegistrationKind = 'jit' | 'registration-token';

/**
 * A self-hosted runner RunnerHub registered with GitHub for one job, or for a warm pool. Its credentials went to its container only and
 * are never stored; `deregisteredAt` records that GitHub no longer lists it (removed by us, or gone by itself).
 */
@Entity({ name: 'runners' })
@Index('idx_runners_job', ['jobId'])
@Index('idx_runners_container', ['containerId'])
@Index('idx_runners_pool', ['pool'])
export class RunnerEntity {
  @PrimaryColumn({ type: 'varchar', length: 36 })
  id!: string;

  @Column({ type: 'varchar', length: 64, unique: true })
  name!: string;

  /** GitHub's runner id, as text (ids outgrow 32 bits); null until known, as with registration-token runners. */
  @Column({ type: 'varchar', length: 32, nullable: true })
  githubRunnerId!: string | null;

  @Column({ type: 'varchar', length: 16 })
  scopeKind!: 'repository' | 'organization';

  /** `owner/repo` for repository runners, the organisation's login for organisation runners. */
  @Column({ type: 'varchar', length: 256 })
  scopeName!: string;

  @Column({ type: 'simple-json' })
  labels!: string[];

  @Column({ type: 'varchar', length: 24 })
  registration!: RunnerRegistrationKind;

  @Column({ type: 'varchar', length: 16 })
  status!: RunnerStatus;

  @Column({ type: 'varchar', length: 36, nullable: true })
  jobId!: string | null;

  @Column({ type: 'varchar', length: 36, nullable: true })
  containerId!: string | null;

  /** The security profile its container runs under; a job with another profile never takes this runner over. */
  @Column({ type: 'varchar', length: 16, nullable: true })
  profile!: string | null;

  /** The GitHub job GitHub gave this runner (`workflow_job` in_progress); null while it waits for one. */
  @Column({ type: 'varchar', length: 32, nullable: true })
  githubJobId!: string | null;

  /**
   * The warm pool it was started for, idle ahead of demand (RUNNER_POOLS); null for a runner made for one job. A pool
   * runner is idle until a job is handed it (its `jobId`) or GitHub gives it one (its `githubJobId`).
   */
  @Column({ type: 'varchar', length: 32, nullable: true })
  pool!: string | null;

  @Column({ type: Date, nullable: true })
  deregisteredAt!: Date | null;

  @CreateDateColumn()
  createdAt!: Date;

  @UpdateDateColumn()
  updatedAt!: Date;

  @VersionColumn()
  version!: number;
}
