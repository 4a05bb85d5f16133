import { METRICS_REGISTRY } from '@app/monitoring/metrics';
import { Inject, Injectable } from '@nestjs/common';
import { Counter, Registry } from 'prom-client';

/** How this replica's public events were published for the other replicas (PostgreSQL NOTIFY). */
export type PublishOutcome = 'sent' | 'trimmed' | 'too_large' | 'failed';

/** The replica event bridge's series: events published and received, and how often its listener reconnected. */
@Injectable()
export class ReplicaEventMetrics {
  readonly published: Counter<'outcome'>;
  readonly received: Counter;
  readonly reconnects: Counter;

  constructor(@Inject(METRICS_REGISTRY) registry: Registry) {
    const registers = [registry];
    this.published = new Counter({
      name: 'runnerhub_replica_events_published_total',
      help:
        'Public events published to the other replicas (PostgreSQL NOTIFY), by outcome: sent, trimmed (long text ' +
        'fields shortened to fit 8000 bytes), too_large (not sent), failed (the NOTIFY failed).',
      labelNames: ['outcome'],
      registers,
    });
    this.received = new Counter({
      name: 'runnerhub_replica_events_received_total',
      help: "Other replicas' public events received and handed to this replica's event streams.",
      registers,
    });
    this.reconnects = new Counter({
      name: 'runnerhub_replica_event_listener_reconnects_total',
      help: 'Times the replica event listener lost its PostgreSQL connection and connected again.',
      registers,
    });
    for (const outcome of ['sent', 'trimmed', 'too_large', 'failed'] satisfies PublishOutcome[])
      this.published.inc({ outcome }, 0);
  }
}
