import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager, Repository } from 'typeorm';
import { GitHubDeliveryEntity } from '../entities';
import { TransactionRunner } from '../transaction-runner';
import { pruneOldestBatch } from './prune-batch';

/** Webhook deliveries already handled, by GitHub's delivery id. */
@Injectable()
export class GitHubDeliveryRepository {
  private readonly deliveries: Repository<GitHubDeliveryEntity>;

  constructor(
    @InjectDataSource() dataSource: DataSource,
    private readonly transactions: TransactionRunner,
  ) {
    this.deliveries = dataSource.getRepository(GitHubDeliveryEntity);
  }

  find(deliveryId: string, manager?: EntityManager): Promise<GitHubDeliveryEntity | null> {
    return (manager ?? this.deliveries.manager).findOneBy(GitHubDeliveryEntity, { deliveryId });
  }

  /** Records a delivery; inside the caller's transaction, so it is kept only if what it caused is kept too. */
  async record(delivery: Omit<GitHubDeliveryEntity, 'receivedAt'>, manager: EntityManager): Promise<void> {
    await manager.insert(GitHubDeliveryEntity, { ...delivery, receivedAt: new Date() });
  }

  /**
   * Deletes up to `limit` of the oldest receipts from before `cutoff` and says how many went (the retention job, in
   * batches). A pruned receipt only means a redelivery that old would be handled again, which GitHub never sends.
   */
  pruneBatch(cutoff: Date, limit: number): Promise<number> {
    return this.transactions.run((manager) =>
      pruneOldestBatch(manager, GitHubDeliveryEntity, { key: 'deliveryId', time: 'receivedAt' }, cutoff, limit),
    );
  }
}
