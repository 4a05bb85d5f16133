import { Injectable } from '@nestjs/common';
import { HealthIndicatorService } from '@nestjs/terminus';
import { DataSource } from 'typeorm';
import { FailureLog } from './failure-log';

const PING_TIMEOUT_MS = 3_000;

/**
 * The database is ready when it answers `SELECT 1` within 3 s. Like the engine's, its readiness says up or down
 * only (a driver's error names hosts, ports and users); the reason goes to the log.
 */
@Injectable()
export class DatabaseHealthIndicator {
  private readonly failures = new FailureLog('the database');

  constructor(
    private readonly dataSource: DataSource,
    private readonly indicators: HealthIndicatorService,
  ) {}

  async isReachable(key = 'database') {
    const indicator = this.indicators.check(key);
    try {
      await withTimeout(this.dataSource.query('SELECT 1'), PING_TIMEOUT_MS);
    } catch (error) {
      this.failures.failed(error);
      return indicator.down();
    }
    this.failures.recovered();
    return indicator.up();
  }
}

function withTimeout<T>(work: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer to SELECT 1 within ${ms} ms`)), ms);
  });
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
}
