import { ContainerState } from '@app/common';
import { Column, CreateDateColumn, Entity, Index, PrimaryColumn, UpdateDateColumn, VersionColumn } from 'typeorm';

/** What RunnerHub asked the engine for, stored without secret values (env values are never kept). */
export interface StoredContainerSpec {
  image: string;
  /** sha256:... of the image as pulled from its registry, when RunnerHub pulled it. */
  imageDigest?: string;
  command?: string[];
  entrypoint?: string[];
  /** Names only: the values may be runner tokens and never reach the database. */
  envNames: string[];
  labels: Record<string, string>;
  user?: string;
  workingDir?: string;
}

/**
 * One runner container as RunnerHub knows it. The engine is the truth about processes; this record is the truth about
 * intent and history, and the reconciler keeps the two in step.
 */
@Entity({ name: 'containers' })
// The list's indexes end in createdAt DESC (migration ContainerListIndexes), a direction @Index cannot express.
@Index('idx_containers_created', ['createdAt', 'id'])
@Index('idx_containers_state_created', ['state', 'createdAt', 'id'])
@Index('idx_containers_repository_state_created', ['repository', 'state', 'createdAt', 'id'])
@Index('idx_containers_job', ['jobId'])
@Index('idx_containers_runner', ['runnerId'])
@Index('idx_containers_engine_state', ['engineName', 'state'])
export class ContainerRecordEntity {
  /** RunnerHub's own id (a UUID), stable across engine restarts; also the `runnerhub.record` label. */
  @PrimaryColumn({ type: 'varchar', length: 36 })
  id!: string;

  @Column({ type: 'varchar', length: 128, unique: true })
  name!: string;

  /** The engine's container id; null until the engine has made it. */
  @Column({ type: 'varchar', length: 64, nullable: true, unique: true })
  engineId!: string | null;

  @Column({ type: 'varchar', length: 16 })
  state!: ContainerState;

  /** The engine (of the `engines` table) the container lives on; every engine call about it goes there. */
  @Column({ type: 'varchar', length: 63, default: 'default' })
  engineName!: string;

  /** Why it was placed there, as the placement saw it: `engine b: 3.1 GiB free of 8, 2 of 10 slots (spread)`. */
  @Column({ type: 'text', nullable: true })
  placement!: string | null;

  @Column({ type: 'varchar', length: 128, nullable: true })
  runnerId!: string | null;

  @Column({ type: 'varchar', length: 128, nullable: true })
  jobId!: string | null;

  @Column({ type: 'varchar', length: 256, nullable: true })
  repository!: string | null;

  @Column({ type: 'simple-json' })
  spec!: StoredContainerSpec;

  @Column({ type: 'simple-json' })
  limits!: Record<string, number | undefined>;

  @Column({ type: 'simple-json' })
  security!: Record<string, unknown>;

  @Column({ type: 'integer', nullable: true })
  exitCode!: number | null;

  /** Why the record is in its state, when that is not obvious (an engine error, `oom-killed`, a cleanup policy). */
  @Column({ type: 'text', nullable: true })
  stateReason!: string | null;

  @Column({ type: Date })
  stateChangedAt!: Date;

  @CreateDateColumn()
  createdAt!: Date;

  @UpdateDateColumn()
  updatedAt!: Date;

  /** Optimistic lock: a transition written against a stale version is refused, so two writers cannot interleave. */
  @VersionColumn()
  version!: number;
}
