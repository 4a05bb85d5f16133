import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, Repository } from 'typeorm';
import { ContainerStatsSampleEntity } from '../entities';
import { TransactionRunner } from '../transaction-runner';
import { pruneOldestBatch } from './prune-batch';

export type NewStatsSample = Omit<ContainerStatsSampleEntity, 'id'>;

/** The sample history: written once a round, read per container, pruned by age (the retention job). */
@Injectable()
export class ContainerStatsRepository {
  private readonly samples: Repository<ContainerStatsSampleEntity>;

  constructor(
    @InjectDataSource() dataSource: DataSource,
    private readonly transactions: TransactionRunner,
  ) {
    this.samples = dataSource.getRepository(ContainerStatsSampleEntity);
  }

  /** One statement per round, in chunks that stay under SQLite's bound-parameter limit. */
  async append(samples: NewStatsSample[]): Promise<void> {
    for (let i = 0; i < samples.length; i += 500) await this.samples.insert(samples.slice(i, i + 500));
  }

  /** The newest samples of one container, newest first. */
  recent(containerId: string, limit: number): Promise<ContainerStatsSampleEntity[]> {
    return this.samples.find({ where: { containerId }, order: { sampledAt: 'DESC', id: 'DESC' }, take: limit });
  }

  /** Deletes up to `limit` of the oldest samples taken before `cutoff`; returns how many went (the retention job). */
  pruneBatch(cutoff: Date, limit: number): Promise<number> {
    return this.transactions.run((manager) =>
      pruneOldestBatch(manager, ContainerStatsSampleEntity, { key: 'id', time: 'sampledAt' }, cutoff, limit),
    );
  }
}
