import { mkdirSync } from 'node:fs';
import { AppConfig } from '@app/common';
import { types as pgTypes, defaults as pgDefaults } from 'pg';
import { DataSourceOptions } from 'typeorm';
import { ENTITIES } from './entities';
import { MIGRATIONS } from './migrations';

/**
 * The one description of RunnerHub's database, used by the service, the TypeORM CLI (ormconfig.ts) and the tests.
 * The schema only ever changes through migrations: `synchronize` stays off everywhere.
 */
export function buildDataSourceOptions(database: AppConfig['database']): DataSourceOptions {
  const common = {
    entities: ENTITIES,
    migrations: MIGRATIONS,
    migrationsRun: true,
    migrationsTransactionMode: 'each' as const,
    synchronize: false,
  };
  if (database.kind === 'postgres') {
    useUtcForTimestampsWithoutZone();
    return {
      ...common,
      type: 'postgres',
      url: database.url,
      // Fail fast when the database is away: a request should get a 503 in seconds, not hang.
      connectTimeoutMS: 5_000,
      extra: { max: 10, idleTimeoutMillis: 30_000, connectionTimeoutMillis: 5_000 },
    };
  }
  // The embedded database is created on first start: its directory must exist before SQLite opens the file.
  mkdirSync(database.dataDir, { recursive: true });
  return {
    ...common,
    type: 'better-sqlite3',
    database: database.file,
    // WAL lets readers go on while a writer commits; a busy timeout turns a brief lock into a wait, not an error.
    // synchronous=NORMAL is WAL's recommended level: the file can never be corrupted, and a power cut can at worst
    // lose the last transitions, which the reconciler rebuilds from the engine. FULL would fsync every transition.
    enableWAL: true,
    prepareDatabase: (db: { pragma(sql: string): unknown }) => {
      db.pragma('busy_timeout = 5000');
      db.pragma('synchronous = NORMAL');
      db.pragma('foreign_keys = ON');
    },
  };
}

/**
 * TypeORM maps a Date column to `timestamp without time zone` on PostgreSQL, and node-postgres reads and writes such
 * values in the process's local zone. Pin both directions to UTC so a record means the same instant whatever TZ the
 * service, a replica or a test runs in (SQLite's datetime text is already UTC).
 */
function useUtcForTimestampsWithoutZone(): void {
  const TIMESTAMP_WITHOUT_ZONE = 1114;
  pgDefaults.parseInputDatesAsUTC = true;
  pgTypes.setTypeParser(TIMESTAMP_WITHOUT_ZONE, (text: string) => new Date(`${text.replace(' ', 'T')}Z`));
}
