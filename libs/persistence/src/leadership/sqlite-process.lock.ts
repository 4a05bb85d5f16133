import { Injectable, OnApplicationShutdown } from '@nestjs/common';
import Database from 'better-sqlite3';

/** A second RunnerHub process on a SQLite file that one already uses. */
export class SqliteInUseError extends Error {
  constructor(
    readonly file: string,
    readonly holderPid: number | null,
  ) {
    super(
      `Another RunnerHub process (pid ${holderPid ?? 'unknown'}) uses ${file}: SQLite serves one process; ` +
        'use PostgreSQL (DATABASE_URL) to run replicas',
    );
    this.name = SqliteInUseError.name;
  }
}

/**
 * Keeps a second process off the SQLite database: leadership, dispatch claims and the engine's event stream all
 * assume that one process owns it. The lock is SQLite's own: a write transaction (BEGIN IMMEDIATE) on a small
 * `<database>.lock` file, left open for the process's life. It is an operating-system file lock, so the kernel frees
 * it when the process dies, SIGKILL included: a killed process never blocks the next start, which a lock file
 * judged stale by age (proper-lockfile and the like) would for its staleness period, or forever by a recycled pid.
 * SQLite also keeps connections of one process apart, so two applications in one test process are refused too.
 * The holder's pid is committed in the file before the lock is taken, for the refusal message; readers may read it.
 */
@Injectable()
export class SqliteProcessLock implements OnApplicationShutdown {
  private connection: Database.Database | null = null;

  /** Takes the lock for this application's life, or throws SqliteInUseError naming the process that holds it. */
  acquire(databaseFile: string): void {
    if (this.connection) return;
    const connection = new Database(`${databaseFile}.lock`);
    try {
      // Refuse at once rather than wait: the holder keeps the lock for as long as it runs.
      connection.pragma('busy_timeout = 0');
      connection.exec('CREATE TABLE IF NOT EXISTS holder (pid INTEGER NOT NULL)');
      if (!tryBeginWrite(connection)) throw new SqliteInUseError(databaseFile, holderPid(connection));
      connection.prepare('DELETE FROM holder').run();
      connection.prepare('INSERT INTO holder (pid) VALUES (?)').run(process.pid);
      connection.exec('COMMIT');
      // Between the commit and this, another process may have taken the lock: then it holds it, and this one stops.
      if (!tryBeginWrite(connection)) throw new SqliteInUseError(databaseFile, holderPid(connection));
    } catch (error) {
      connection.close();
      throw error;
    }
    this.connection = connection;
  }

  /** Closing rolls the open transaction back, which frees the lock; nothing was written in it. */
  release(): void {
    this.connection?.close();
    this.connection = null;
  }

  onApplicationShutdown(): void {
    this.release();
  }
}

function tryBeginWrite(connection: Database.Database): boolean {
  try {
    connection.exec('BEGIN IMMEDIATE');
    return true;
  } catch (error) {
    if ((error as { code?: string }).code === 'SQLITE_BUSY') return false;
    throw error;
  }
}

function holderPid(connection: Database.Database): number | null {
  try {
    const row = connection.prepare('SELECT pid FROM holder').get() as { pid: number } | undefined;
    return row?.pid ?? null;
  } catch {
    return null;
  }
}
