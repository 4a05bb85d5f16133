import { Column, Entity, Index, PrimaryColumn } from 'typeorm';

/** What RunnerHub did with a webhook delivery. */
export type DeliveryOutcome = 'queued' | 'updated' | 'ignored';

/**
 * One webhook delivery from GitHub, keyed by its `X-GitHub-Delivery` id: a redelivery of the same id is answered
 * from here and changes nothing. Written in the same transaction as the job it queued, so a failure keeps neither
 * and GitHub's own redelivery can try again.
 */
@Entity({ name: 'github_deliveries' })
// The retention job deletes the oldest receipts first.
@Index('idx_deliveries_received', ['receivedAt'])
export class GitHubDeliveryEntity {
  @PrimaryColumn({ type: 'varchar', length: 64 })
  deliveryId!: string;

  @Column({ type: 'varchar', length: 64 })
  event!: string;

  @Column({ type: 'varchar', length: 32, nullable: true })
  action!: string | null;

  @Column({ type: 'varchar', length: 32, nullable: true })
  githubJobId!: string | null;

  @Column({ type: 'varchar', length: 16 })
  outcome!: DeliveryOutcome;

  /** Why it was ignored, or the job it touched. */
  @Column({ type: 'text', nullable: true })
  detail!: string | null;

  @Column({ type: Date })
  receivedAt!: Date;
}
