import { withDeadline } from '@app/common';
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
      // The rows of SELECT 1 are never null: null is the deadline passing.
      if ((await withDeadline(this.dataSource.query('SELECT 1'), PING_TIMEOUT_MS)) === null) {
        throw new Error(`no answer to SELECT 1 within ${PING_TIMEOUT_MS} ms`);
      }
    } catch (error) {
      this.failures.failed(error);
      return indicator.down();
    }
    this.failures.recovered();
    return indicator.up();
  }
}
