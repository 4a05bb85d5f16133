import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, Repository } from 'typeorm';
import { ApiKeyEntity } from '../entities';
import { TransactionRunner } from '../transaction-runner';

export type NewApiKey = Pick<ApiKeyEntity, 'name' | 'role' | 'keyHash'>;

/** The API keys RunnerHub generated and stored (as hashes): read at start, written once on first start. */
@Injectable()
export class ApiKeyRepository {
  private readonly keys: Repository<ApiKeyEntity>;

  constructor(
    @InjectDataSource() dataSource: DataSource,
    private readonly transactions: TransactionRunner,
  ) {
    this.keys = dataSource.getRepository(ApiKeyEntity);
  }

  all(): Promise<ApiKeyEntity[]> {
    return this.keys.find({ order: { createdAt: 'ASC', name: 'ASC' } });
  }

  async insert(key: NewApiKey): Promise<void> {
    // Through the runner: on SQLite a bare insert could land inside another caller's open transaction.
    await this.transactions.run((manager) => manager.insert(ApiKeyEntity, key));
  }
}
