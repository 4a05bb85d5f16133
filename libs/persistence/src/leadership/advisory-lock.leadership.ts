import { errorMessage } from '@app/common';
import { Logger, OnApplicationShutdown, OnModuleInit } from '@nestjs/common';
import { Duty, DUTIES, DUTY_LOCK_KEYS, DUTY_LOCK_NAMESPACE } from './duties';
import { DutyLeadership } from './duty-leadership';

/** The part of a `pg.Client` leadership uses: one session of its own, whose end frees every lock it held. */
export interface LeadershipConnection {
  connect(): Promise<unknown>;
  query(text: string, values?: unknown[]): Promise<{ rows: unknown[] }>;
  end(): Promise<void>;
  on(event: 'error', listener: (error: Error) => void): unknown;
  on(event: 'end', listener: () => void): unknown;
}

/** Reconnection back-off stops growing here (or at the retry interval, if that is longer). */
const MAX_BACKOFF_MS = 30_000;

/**
 * Rounds in a row that PostgreSQL may answer too slowly (pg's query_timeout) before the session is given up as dead.
 * A slow answer on a loaded host is not a lost session: the locks are still this session's, so it only pauses.
 */
const MAX_SLOW_ROUNDS = 3;

const TRY_LOCKS = 'SELECT key, pg_try_advisory_lock($1, key) AS locked FROM unnest($2::int[]) AS key';

/**
 * Leadership among replicas on one PostgreSQL: a duty's leader is the replica whose session holds the duty's advisory
 * lock. Session locks, not a lease table: PostgreSQL frees them the moment the holder's session ends, a SIGKILLed
 * replica included, with no clock or renewal to get wrong. The session is a connection of its own, not one of
 * TypeORM's pool, so that the locks live exactly as long as this replica is connected.
 *
 * Every retry interval a round tries the duties nobody leads; the same round-trip proves the session still lives.
 * When the connection errors or ends, this replica drops every duty at once (another replica may take them as soon as
 * PostgreSQL sees the session gone) and reconnects with back-off.
 */
export class AdvisoryLockLeadership extends DutyLeadership implements OnModuleInit, OnApplicationShutdown {
  private readonly logger = new Logger(DutyLeadership.name);
  private readonly held = new Set<Duty>();
  private connection: LeadershipConnection | null = null;
  private failures = 0;
  private slowRounds = 0;
  private stopping = false;
  private timer: NodeJS.Timeout | null = null;
  private round: Promise<void> | null = null;

  constructor(
    private readonly retryMs: number,
    private readonly openConnection: () => LeadershipConnection,
  ) {
    super();
  }

  isLeader(duty: Duty): boolean {
    return this.held.has(duty);
  }

  /** The duties this replica leads now. */
  led(): Duty[] {
    return DUTIES.filter((duty) => this.held.has(duty));
  }

  /** The first round before the schedulers start (a lone replica leads from its first tick); then one per interval. */
  async onModuleInit(): Promise<void> {
    await this.runRound();
  }

  /**
   * Runs after the schedulers' own shutdown (they depend on this module) has waited for their last tick, and before
   * the database closes: ending the session hands every duty over at once.
   */
  async onApplicationShutdown(): Promise<void> {
    this.stopping = true;
    if (this.timer) clearTimeout(this.timer);
    await this.round;
    const connection = this.connection;
    this.dropAll('this replica is stopping');
    await connection?.end().catch(() => undefined);
  }

  private runRound(): Promise<void> {
    this.round = this.takeFreeDuties()
      .catch((error: unknown) =>
        isSlowAnswer(error) && this.slowRounds < MAX_SLOW_ROUNDS
          ? this.pause(error)
          : this.lose(error, this.connection),
      )
      .finally(() => {
        this.round = null;
        this.scheduleNextRound();
      });
    return this.round;
  }

  private async takeFreeDuties(): Promise<void> {
    const connection = this.connection ?? (await this.connect());
    const free = DUTIES.filter((duty) => !this.held.has(duty));
    // With every duty led here the query takes nothing, but its answer still proves that the session lives.
    const { rows } = await connection.query(TRY_LOCKS, [DUTY_LOCK_NAMESPACE, free.map((duty) => DUTY_LOCK_KEYS[duty])]);
    this.failures = 0;
    this.slowRounds = 0;
    // The connection died during the query: whatever it took went with it.
    if (connection !== this.connection || this.stopping) return;
    const taken = (rows as Array<{ key: number; locked: boolean }>)
      .filter((row) => row.locked)
      .map((row) => free.find((duty) => DUTY_LOCK_KEYS[duty] === row.key)!);
    for (const duty of taken) this.held.add(duty);
    if (taken.length > 0) this.logger.log(`This replica now leads ${taken.join(', ')}`);
  }

  private async connect(): Promise<LeadershipConnection> {
    const connection = this.openConnection();
    // Registered before connecting: pg emits 'error' on an idle client, which would otherwise crash the process.
    connection.on('error', (error) => this.lose(error, connection));
    connection.on('end', () => this.lose(new Error('the connection ended'), connection));
    try {
      await connection.connect();
    } catch (error) {
      await connection.end().catch(() => undefined);
      throw error;
    }
    this.connection = connection;
    if (this.failures > 0) this.logger.log('Leadership connection to PostgreSQL restored');
    return connection;
  }

  /**
   * PostgreSQL did not answer the round in time. Its session, and with it every lock, may well be alive (a busy host),
   * but this replica cannot know it still leads, so it stops running duties until a round answers again: that round
   * takes the same locks again at once (session locks are re-entrant), or finds them gone with a dead session.
   */
  private pause(error: unknown): void {
    this.slowRounds++;
    this.dropAll(`no answer from PostgreSQL (${errorMessage(error)}); leading again once it answers`);
  }

  /** The session is gone or unusable: so is every lock it held. */
  private lose(error: unknown, connection: LeadershipConnection | null): void {
    // A connection already given up on may still report its end: that is no news.
    if (connection !== this.connection || this.stopping) return;
    this.connection = null;
    this.failures++;
    this.slowRounds = 0;
    this.dropAll(`leadership connection lost: ${errorMessage(error)}`);
    if (this.failures === 1 || this.failures % 10 === 0) {
      this.logger.warn(`Leadership connection to PostgreSQL failed (${errorMessage(error)}); retrying with back-off`);
    }
    void connection?.end().catch(() => undefined);
  }

  private dropAll(reason: string): void {
    if (this.held.size === 0) return;
    const dropped = this.led();
    this.held.clear();
    this.logger.log(`This replica no longer leads ${dropped.join(', ')} (${reason})`);
  }

  private scheduleNextRound(): void {
    if (this.stopping) return;
    const delay =
      this.failures === 0
        ? this.retryMs
        : Math.min(this.retryMs * 2 ** (this.failures - 1), Math.max(this.retryMs, MAX_BACKOFF_MS));
    this.timer = setTimeout(() => void this.runRound(), delay);
  }
}

/** pg's query_timeout: the query is still on its way, the connection still usable. */
function isSlowAnswer(error: unknown): boolean {
  return error instanceof Error && error.message === 'Query read timeout';
}
