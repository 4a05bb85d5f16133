import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { And, DataSource, FindOperator, FindOptionsWhere, LessThan, MoreThanOrEqual, Repository } from 'typeorm';
import { QueryDeepPartialEntity } from 'typeorm/query-builder/QueryPartialEntity';
import { AuditLogEntryEntity, AuditOutcome } from '../entities';
import { TransactionRunner } from '../transaction-runner';
import { pruneOldestBatch } from './prune-batch';
import { Page } from './container-record.repository';

export type NewAuditLogEntry = Omit<AuditLogEntryEntity, 'id'>;

export interface AuditLogFilter {
  actor?: string;
  action?: string;
  target?: string;
  outcome?: AuditOutcome;
  /** Entries at or after this instant. */
  since?: Date;
  /** Entries before this instant. */
  until?: Date;
}

/** The audit log: appended by the HTTP layer after every mutating call, read (filtered, newest first) by operators. */
@Injectable()
export class AuditLogRepository {
  private readonly entries: Repository<AuditLogEntryEntity>;

  constructor(
    @InjectDataSource() dataSource: DataSource,
    private readonly transactions: TransactionRunner,
  ) {
    this.entries = dataSource.getRepository(AuditLogEntryEntity);
  }

  async append(entry: NewAuditLogEntry): Promise<void> {
    // Through the runner: on SQLite a bare insert could land inside another request's open transaction and vanish
    // with its rollback.
    // The cast only widens `details`: TypeORM's deep-partial type cannot describe a free-form JSON column.
    const row = entry as QueryDeepPartialEntity<AuditLogEntryEntity>;
    await this.transactions.run((manager) => manager.insert(AuditLogEntryEntity, row));
  }

  /**
   * Deletes up to `limit` of the oldest entries from before `cutoff` and says how many went. The retention job calls
   * it until less than a batch comes back, so that a large backlog is never one long statement holding the table.
   */
  pruneBatch(cutoff: Date, limit: number): Promise<number> {
    return this.transactions.run((manager) =>
      pruneOldestBatch(manager, AuditLogEntryEntity, { key: 'id', time: 'at' }, cutoff, limit),
    );
  }

  async list(filter: AuditLogFilter, page: Page): Promise<{ items: AuditLogEntryEntity[]; total: number }> {
    const { since, until, ...exact } = filter;
    const where: FindOptionsWhere<AuditLogEntryEntity> = Object.fromEntries(
      Object.entries(exact).filter(([, value]) => value !== undefined),
    );
    const at = [
      ...(since ? [MoreThanOrEqual(since)] : []),
      ...(until ? [LessThan(until)] : []),
    ] as FindOperator<Date>[];
    if (at.length > 0) where.at = at.length === 1 ? at[0] : And(...at);
    const [items, total] = await this.entries.findAndCount({
      where,
      order: { at: 'DESC', id: 'DESC' },
      take: page.limit,
      skip: page.offset,
    });
    return { items, total };
  }
}
