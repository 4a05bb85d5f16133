import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';

export type Exclusive<T> = { ran: true; result: T } | { ran: false };

/**
 * Work that one replica at a time may do (a cleanup scan). On PostgreSQL a session advisory lock, tried without
 * waiting, on a connection held for the work: a replica that finds it taken skips its turn. SQLite has one process.
 * Scheduled scans already run on the duty's leader only (DutyLeadership); this lock still covers what leadership does
 * not: a manual scan asked of any replica, and a leader's last tick overlapping its successor's first at a handover.
 */
@Injectable()
export class ScanLock {
  private readonly shared: boolean;

  constructor(@InjectDataSource() private readonly dataSource: DataSource) {
    this.shared = dataSource.options.type === 'postgres';
  }

  async runExclusive<T>(key: number, work: () => Promise<T>): Promise<Exclusive<T>> {
    if (!this.shared) return { ran: true, result: await work() };
    const runner = this.dataSource.createQueryRunner();
    await runner.connect();
    try {
      const [{ locked }] = (await runner.query('SELECT pg_try_advisory_lock($1) AS locked', [key])) as Array<{
        locked: boolean;
      }>;
      if (!locked) return { ran: false };
      try {
        return { ran: true, result: await work() };
      } finally {
        await runner.query('SELECT pg_advisory_unlock($1)', [key]);
      }
    } finally {
      await runner.release();
    }
  }
}
