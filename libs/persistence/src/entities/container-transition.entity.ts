import { ContainerState } from '@app/common';
import { Column, CreateDateColumn, Entity, Index, PrimaryGeneratedColumn } from 'typeorm';

/** One step of a container's life, appended and never changed: the audit trail of every state change. */
@Entity({ name: 'container_transitions' })
@Index('idx_transitions_container', ['containerId', 'id'])
export class ContainerTransitionEntity {
  @PrimaryGeneratedColumn({ type: 'integer' })
  id!: number;

  @Column({ type: 'varchar', length: 36 })
  containerId!: string;

  /** Null for the first row of a record (its creation). */
  @Column({ type: 'varchar', length: 16, nullable: true })
  fromState!: ContainerState | null;

  @Column({ type: 'varchar', length: 16 })
  toState!: ContainerState;

  @Column({ type: 'text' })
  reason!: string;

  /** Who asked: an API key's name, `reconciler`, `cleanup:<policy>`, `orchestrator`. */
  @Column({ type: 'varchar', length: 128 })
  actor!: string;

  @Column({ type: 'integer', nullable: true })
  exitCode!: number | null;

  @CreateDateColumn()
  at!: Date;
}
