import { AppConfig } from '@app/common';
import { Inject, Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { Subscription } from 'rxjs';
import { PublicEvent, PublicEventFeed } from './public-event-feed';
import { ReplicaEventChannel } from './replica-event-channel';
import { decodeEnvelope, encodeEnvelope, NOTIFY_PAYLOAD_MAX_BYTES } from './replica-event-envelope';
import { ReplicaEventMetrics } from './replica-event.metrics';
import { REPLICA_ID } from './replica-identity';

/**
 * Makes every replica's event streams show every replica's public events, on PostgreSQL: this replica's public
 * events are published on the ReplicaEventChannel, and the other replicas' (its own come back too, and are
 * skipped: its streams had them locally) are handed to the PublicEventFeed, for the streams only. Publishing is fire
 * and forget: it never delays or fails whoever emitted the event; a failure is counted and logged, once for a run of
 * failures. On SQLite there is one process and nothing to bridge: it does nothing.
 */
@Injectable()
export class ReplicaEventBridge implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('ReplicaEvents');
  private readonly enabled: boolean;
  private local?: Subscription;
  /** Whether the last NOTIFY failed: a database away fails every event, and one warning says so. */
  private failing = false;
  private published = 0;

  constructor(
    config: AppConfig,
    private readonly feed: PublicEventFeed,
    private readonly channel: ReplicaEventChannel,
    @Inject(REPLICA_ID) private readonly replicaId: string,
    private readonly metrics: ReplicaEventMetrics,
  ) {
    this.enabled = config.database.kind === 'postgres';
  }

  async onApplicationBootstrap(): Promise<void> {
    if (!this.enabled) return;
    // Listening before the service is ready: a client of this replica sees other replicas' events from its start.
    await this.channel.open((text) => this.receive(text));
    this.local = this.feed.local().subscribe((event) => this.publish(event));
  }

  // At the very end, so that the events of the shutdown itself (containers stopped) still reach the other replicas.
  async onApplicationShutdown(): Promise<void> {
    this.local?.unsubscribe();
    if (this.enabled) await this.channel.close();
  }

  private publish({ name, payload }: PublicEvent): void {
    const encoded = encodeEnvelope({
      origin: this.replicaId,
      name,
      payload,
      at: new Date().toISOString(),
      seq: ++this.published,
    });
    if (!encoded.fits) {
      this.metrics.published.inc({ outcome: 'too_large' });
      this.logger.warn(
        `${name} was not sent to the other replicas: ${encoded.bytes} bytes, more than a NOTIFY carries ` +
          `(${NOTIFY_PAYLOAD_MAX_BYTES}) even with its text fields trimmed`,
      );
      return;
    }
    const outcome = encoded.trimmed.length > 0 ? 'trimmed' : 'sent';
    this.channel.notify(encoded.text).then(
      () => {
        this.metrics.published.inc({ outcome });
        if (this.failing) this.logger.log('Events reach the other replicas again');
        this.failing = false;
      },
      (error: unknown) => {
        this.metrics.published.inc({ outcome: 'failed' });
        if (!this.failing)
          this.logger.warn(
            `${name} could not be sent to the other replicas (${error instanceof Error ? error.message : String(error)}); ` +
              'further failures are counted in runnerhub_replica_events_published_total{outcome="failed"}',
          );
        this.failing = true;
      },
    );
  }

  private receive(text: string): void {
    const envelope = decodeEnvelope(text);
    if (!envelope) {
      this.logger.warn(`Ignored a notification that is not a RunnerHub event: ${text.slice(0, 200)}`);
      return;
    }
    if (envelope.origin === this.replicaId) return;
    this.metrics.received.inc();
    this.feed.deliverRemote({ name: envelope.name, payload: envelope.payload });
  }
}
