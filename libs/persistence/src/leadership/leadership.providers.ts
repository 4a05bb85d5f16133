import { AppConfig } from '@app/common';
import { Module, Provider } from '@nestjs/common';
import { Client } from 'pg';
import { AdvisoryLockLeadership } from './advisory-lock.leadership';
import { DutyLeadership, SoleProcessLeadership } from './duty-leadership';
import { SqliteProcessLock } from './sqlite-process.lock';

/** Leadership by advisory locks on PostgreSQL; on SQLite the one process leads everything. */
export const DUTY_LEADERSHIP_PROVIDER: Provider = {
  provide: DutyLeadership,
  inject: [AppConfig],
  useFactory: (config: AppConfig): DutyLeadership => {
    const { database, leadership } = config;
    if (database.kind !== 'postgres') return new SoleProcessLeadership();
    return new AdvisoryLockLeadership(
      leadership.retryMs,
      () =>
        new Client({
          connectionString: database.url,
          // Named so that an operator finds the sessions holding the duties in pg_stat_activity.
          application_name: 'runnerhub-leadership',
          connectionTimeoutMillis: 5_000,
          // A round that hangs (a silent network) counts as a lost connection rather than a held leadership.
          query_timeout: Math.max(leadership.retryMs, 5_000),
          keepAlive: true,
        }),
    );
  },
};

/**
 * The SQLite process lock on its own, so that TypeORM's options factory can take it before the database is opened,
 * and its release comes after the database is closed (this module lies deeper than TypeORM's).
 */
@Module({ providers: [SqliteProcessLock], exports: [SqliteProcessLock] })
export class SqliteProcessLockModule {}
