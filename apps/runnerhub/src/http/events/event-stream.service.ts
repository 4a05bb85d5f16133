import { Inject, Injectable, MessageEvent, Optional } from '@nestjs/common';
import { Observable } from 'rxjs';
import { PublicEventFeed } from './public-event-feed';

/** Milliseconds between heartbeats when the client does not choose; proxies drop connections idle for longer. */
export const EVENTS_HEARTBEAT_MS = Symbol('EVENTS_HEARTBEAT_MS');
export const DEFAULT_HEARTBEAT_MS = 15_000;
export interface EventStreamOptions {
  /** Exact names or families (`container:*`, `*`); empty or absent means every public event. */
  types?: string[];
  containerId?: string;
  heartbeatMs?: number;
}

/**
 * RunnerHub's public events (this replica's and, on PostgreSQL, the other replicas') as an Observable of SSE
 * messages: one subscription to the feed per subscriber, removed when the subscriber goes (the responder
 * unsubscribes when the client disconnects), plus a heartbeat so that proxies keep the connection open.
 */
@Injectable()
export class EventStreamService {
  private readonly defaultHeartbeatMs: number;

  constructor(
    private readonly feed: PublicEventFeed,
    @Optional() @Inject(EVENTS_HEARTBEAT_MS) heartbeatMs?: number,
  ) {
    this.defaultHeartbeatMs = heartbeatMs ?? DEFAULT_HEARTBEAT_MS;
  }

  stream(options: EventStreamOptions = {}): Observable<MessageEvent> {
    const matches = eventMatcher(options.types ?? []);
    const heartbeatMs = options.heartbeatMs ?? this.defaultHeartbeatMs;
    return new Observable<MessageEvent>((subscriber) => {
      const events = this.feed.all().subscribe(({ name, payload }) => {
        if (!matches(name)) return;
        if (options.containerId !== undefined && containerIdOf(payload) !== options.containerId) return;
        subscriber.next({ type: name, data: toData(payload) });
      });
      const heartbeat = setInterval(
        () => subscriber.next({ type: 'heartbeat', data: { at: new Date().toISOString() } }),
        heartbeatMs,
      );
      return () => {
        clearInterval(heartbeat);
        events.unsubscribe();
      };
    });
  }
}

function eventMatcher(types: string[]): (name: string) => boolean {
  if (types.length === 0 || types.includes('*')) return () => true;
  const exact = new Set(types.filter((type) => !type.endsWith(':*')));
  const families = types.filter((type) => type.endsWith(':*')).map((type) => type.slice(0, -1));
  return (name) => exact.has(name) || families.some((family) => name.startsWith(family));
}

function containerIdOf(payload: unknown): unknown {
  return typeof payload === 'object' && payload !== null
    ? (payload as { containerId?: unknown }).containerId
    : undefined;
}

/** SSE data is JSON: objects go as they are, anything else is wrapped so that the client always parses an object. */
function toData(payload: unknown): object {
  return typeof payload === 'object' && payload !== null ? payload : { value: payload ?? null };
}
