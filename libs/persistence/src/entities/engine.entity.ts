import { Column, CreateDateColumn, Entity, PrimaryColumn, UpdateDateColumn, VersionColumn } from 'typeorm';

/**
 * `active` takes new containers; `draining` takes none while its containers finish, then becomes `drained`;
 * `unreachable` has not answered a ping for ENGINE_UNREACHABLE_AFTER_MS (its jobs move elsewhere) and becomes
 * `active` again when it answers.
 */
export type EngineState = 'active' | 'draining' | 'drained' | 'unreachable';
export const ENGINE_STATES: readonly EngineState[] = ['active', 'draining', 'drained', 'unreachable'];

/** Where the engine came from: DOCKER_ENGINES/DOCKER_HOST (refreshed from the configuration at every start) or the API. */
export type EngineSource = 'config' | 'api';

/**
 * One Docker engine of the fleet. Every replica reads this table, so all of them place containers on the same engines
 * with the same states; capacity is what the operator gave, else what the engine's `info` says.
 */
@Entity({ name: 'engines' })
export class EngineEntity {
  @PrimaryColumn({ type: 'varchar', length: 63 })
  name!: string;

  /** In DOCKER_HOST notation: unix:///var/run/docker.sock, tcp://host:2376. */
  @Column({ type: 'varchar', length: 512 })
  endpoint!: string;

  /** With TLS: the directory holding ca.pem, cert.pem and key.pem, as DOCKER_CERT_PATH names it; never their contents. */
  @Column({ type: 'varchar', length: 1024, nullable: true })
  tlsCertPath!: string | null;

  @Column({ type: 'simple-json' })
  labels!: string[];

  /** The network its runner containers join instead of RUNNER_NETWORK; null: RUNNER_NETWORK. */
  @Column({ type: 'varchar', length: 128, nullable: true })
  network!: string | null;

  /** Capacity the operator gave; null: taken from the engine's `info` (below). */
  @Column({ type: 'integer', nullable: true })
  memoryMb!: number | null;

  /** Thousandths of a CPU (1500 = 1.5 CPUs), so that both databases store it exactly. */
  @Column({ type: 'integer', nullable: true })
  cpuMillis!: number | null;

  @Column({ type: 'integer', nullable: true })
  maxContainers!: number | null;

  /** What the engine's `info` last said (MemTotal, NCPU); null until it has answered once. */
  @Column({ type: 'integer', nullable: true })
  infoMemoryMb!: number | null;

  @Column({ type: 'integer', nullable: true })
  infoCpuMillis!: number | null;

  @Column({ type: 'varchar', length: 16 })
  state!: EngineState;

  /** Why it is in its state (`drain asked by admin-key`, the engine's last error). */
  @Column({ type: 'text', nullable: true })
  stateReason!: string | null;

  @Column({ type: Date })
  stateChangedAt!: Date;

  @Column({ type: 'varchar', length: 8 })
  source!: EngineSource;

  /** When it last answered a ping. */
  @Column({ type: Date, nullable: true })
  lastSeenAt!: Date | null;

  @CreateDateColumn()
  createdAt!: Date;

  @UpdateDateColumn()
  updatedAt!: Date;

  @VersionColumn()
  version!: number;
}
