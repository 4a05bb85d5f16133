import { Column, Entity, Index, PrimaryGeneratedColumn } from 'typeorm';

/**
 * One resource sample of a running container, kept for STATS_RETENTION_MS and then pruned. Figures are doubles:
 * exact for byte counts up to 2^53, and the same type on SQLite and PostgreSQL.
 */
@Entity({ name: 'container_stats' })
@Index('idx_container_stats_container', ['containerId', 'sampledAt'])
@Index('idx_container_stats_sampled', ['sampledAt'])
export class ContainerStatsSampleEntity {
  @PrimaryGeneratedColumn()
  id!: number;

  @Column({ type: 'varchar', length: 36 })
  containerId!: string;

  @Column({ type: Date })
  sampledAt!: Date;

  @Column({ type: 'double precision' })
  cpuPercent!: number;

  @Column({ type: 'double precision' })
  memoryUsage!: number;

  @Column({ type: 'double precision' })
  memoryLimit!: number;

  @Column({ type: 'double precision' })
  networkRx!: number;

  @Column({ type: 'double precision' })
  networkTx!: number;

  @Column({ type: 'double precision' })
  blockRead!: number;

  @Column({ type: 'double precision' })
  blockWrite!: number;

  @Column({ type: 'integer' })
  pids!: number;
}
