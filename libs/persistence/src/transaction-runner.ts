import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager } from 'typeorm';

/**
 * Runs a unit of work in one database transaction. On SQLite TypeORM shares a single connection between all callers,
 * so two overlapping transactions would silently nest as savepoints of each other: there they are queued one after
 * the other. PostgreSQL gives each transaction its own pooled connection and needs no queue.
 */
@Injectable()
export class TransactionRunner {
  private tail: Promise<unknown> = Promise.resolve();
  private readonly serialise: boolean;

  constructor(@InjectDataSource() private readonly dataSource: DataSource) {
    this.serialise = dataSource.options.type !== 'postgres';
  }

  run<T>(work: (manager: EntityManager) => Promise<T>): Promise<T> {
    if (!this.serialise) return this.dataSource.transaction(work);
    const result = this.tail.then(() => this.dataSource.transaction(work));
    // The queue moves on whether this unit succeeded or not; the caller still sees its own failure.
    this.tail = result.catch(() => undefined);
    return result;
  }
}
