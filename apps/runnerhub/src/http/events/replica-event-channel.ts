import { AppConfig } from '@app/common';
import { Injectable, Logger } from '@nestjs/common';
import { Client, Notification } from 'pg';
import { ReplicaEventMetrics } from './replica-event.metrics';

/**
 * Where replicas on one database publish their events to each other: the ReplicaEventBridge's one door to
 * PostgreSQL, so that its policy (what to send, what to take) is tested without a database.
 */
export abstract class ReplicaEventChannel {
  /**
   * Starts listening and keeps listening, reconnecting after any loss, until close(). Resolves once the first
   * attempt is over, listening or not (then it goes on trying in the background).
   */
  abstract open(onMessage: (text: string) => void): Promise<void>;
  /** Sends `text` to every replica listening, this one included; rejects when it cannot. */
  abstract notify(text: string): Promise<void>;
  abstract close(): Promise<void>;
}

/** The NOTIFY channel; LISTEN/NOTIFY is per database, so replicas of other RunnerHubs never hear each other. */
export const REPLICA_EVENTS_CHANNEL = 'runnerhub_events';
const FIRST_RETRY_MS = 250;
/** NOTIFYs sent in one statement at most; a burst larger than this goes out in several, in order. */
const MAX_BATCH = 200;
/** One round trip for a whole batch; unnest WITH ORDINALITY hands the texts to pg_notify in the order given. */
const NOTIFY_BATCH = 'SELECT pg_notify($1, text) FROM unnest($2::text[]) WITH ORDINALITY AS batch(text, position)';

interface PendingNotification {
  text: string;
  sent: () => void;
  failed: (error: unknown) => void;
}
const MAX_RETRY_MS = 10_000;

/**
 * The channel as PostgreSQL LISTEN/NOTIFY, on a connection of its own rather than one of TypeORM's pool: a LISTEN
 * belongs to a session, and a pooled connection goes back to the pool between queries. NOTIFYs go out on the same
 * connection, so one replica's events arrive in the order it published them; those published while a batch is on its
 * way are sent together in the next statement, so a burst of events costs a few round trips rather than one each
 * (and never queues queries on the client, which pg deprecates). When the connection drops, it is made
 * again after 250 ms, doubling to 10 s between tries; what other replicas publish meanwhile is not received
 * (NOTIFY keeps nothing for absent listeners), which the log says.
 */
@Injectable()
export class PgReplicaEventChannel extends ReplicaEventChannel {
  private readonly logger = new Logger('ReplicaEvents');
  private client: Client | null = null;
  private onMessage: (text: string) => void = () => undefined;
  private retryTimer?: NodeJS.Timeout;
  private retryMs = FIRST_RETRY_MS;
  private failedAttempts = 0;
  private closed = false;
  private readonly pending: PendingNotification[] = [];
  private flushing = false;

  constructor(
    private readonly config: AppConfig,
    private readonly metrics: ReplicaEventMetrics,
  ) {
    super();
  }

  async open(onMessage: (text: string) => void): Promise<void> {
    this.onMessage = onMessage;
    await this.connect();
  }

  notify(text: string): Promise<void> {
    if (!this.client) return Promise.reject(new Error('no connection to PostgreSQL (reconnecting)'));
    return new Promise((sent, failed) => {
      this.pending.push({ text, sent, failed });
      if (!this.flushing) void this.flush();
    });
  }

  /** Sends what is pending, batch after batch, until nothing is; one statement on the connection at a time. */
  private async flush(): Promise<void> {
    this.flushing = true;
    while (this.pending.length > 0) {
      const batch = this.pending.splice(0, MAX_BATCH);
      try {
        if (!this.client) throw new Error('no connection to PostgreSQL (reconnecting)');
        await this.client.query(NOTIFY_BATCH, [REPLICA_EVENTS_CHANNEL, batch.map((item) => item.text)]);
        for (const item of batch) item.sent();
      } catch (error) {
        for (const item of batch) item.failed(error);
      }
    }
    this.flushing = false;
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.retryTimer);
    const client = this.client;
    this.client = null;
    await client?.end().catch(() => undefined);
  }

  private async connect(): Promise<void> {
    const { database } = this.config;
    if (database.kind !== 'postgres' || this.closed) return;
    const client = new Client({
      connectionString: database.url,
      // Named, so that an operator sees it in pg_stat_activity for what it is.
      application_name: 'runnerhub-replica-events',
      // A connection that died silently (a host gone, a NAT entry expired) is noticed, not listened on forever.
      keepAlive: true,
      connectionTimeoutMillis: 5_000,
    });
    let lost = false;
    const onLost = (reason: string) => {
      if (lost) return;
      lost = true;
      if (this.client === client) this.client = null;
      void client.end().catch(() => undefined);
      if (!this.closed) this.retry(reason);
    };
    client.on('error', (error: Error) => onLost(error.message));
    client.on('end', () => onLost('the connection ended'));
    client.on('notification', (message: Notification) => {
      if (message.channel === REPLICA_EVENTS_CHANNEL && message.payload !== undefined) this.onMessage(message.payload);
    });
    try {
      await client.connect();
      await client.query(`LISTEN ${REPLICA_EVENTS_CHANNEL}`);
    } catch (error) {
      onLost(error instanceof Error ? error.message : String(error));
      return;
    }
    if (lost) return;
    if (this.closed) return void client.end().catch(() => undefined);
    this.client = client;
    if (this.failedAttempts > 0) {
      this.metrics.reconnects.inc();
      this.logger.log(
        `The replica event listener is connected again (${this.failedAttempts} reconnection attempt(s)); ` +
          "other replicas' events published while it was away were not received",
      );
    }
    this.failedAttempts = 0;
    this.retryMs = FIRST_RETRY_MS;
  }

  private retry(reason: string): void {
    this.failedAttempts += 1;
    const delayMs = this.retryMs;
    this.retryMs = Math.min(this.retryMs * 2, MAX_RETRY_MS);
    this.logger.warn(
      `The replica event listener has no PostgreSQL connection (${reason}): events do not travel between this ` +
        `replica and the others until it is back; reconnecting in ${delayMs} ms (attempt ${this.failedAttempts})`,
    );
    this.retryTimer = setTimeout(() => void this.connect(), delayMs);
    // A process that is otherwise done (a test, a shutdown under way) does not wait for the next try.
    this.retryTimer.unref();
  }
}
