import { METRICS_REGISTRY } from '@app/monitoring/metrics';
import { Inject, Injectable } from '@nestjs/common';
import { Counter, Gauge, Registry } from 'prom-client';
import type { StreamCap } from './event-stream-slots';

/** The event streams' series: how many are open, how many were refused at a cap, how many slow clients dropped. */
@Injectable()
export class EventStreamMetrics {
  readonly open: Gauge;
  readonly refused: Counter<'cap'>;
  readonly slowClientsDropped: Counter;

  constructor(@Inject(METRICS_REGISTRY) registry: Registry) {
    const registers = [registry];
    this.open = new Gauge({
      name: 'runnerhub_event_streams_open',
      help: 'Server-Sent Event streams (GET /api/events) open now.',
      registers,
    });
    this.refused = new Counter({
      name: 'runnerhub_event_streams_refused_total',
      help: 'Event streams refused with 429 TOO_MANY_STREAMS, by the cap reached (per-key: SSE_MAX_PER_KEY, total: SSE_MAX).',
      labelNames: ['cap'],
      registers,
    });
    this.slowClientsDropped = new Counter({
      name: 'runnerhub_event_streams_slow_clients_dropped_total',
      help: 'Event streams ended because their client did not read: more than SSE_BUFFER_BYTES were waiting for it.',
      registers,
    });
    for (const cap of ['per-key', 'total'] satisfies StreamCap[]) this.refused.inc({ cap }, 0);
  }
}
