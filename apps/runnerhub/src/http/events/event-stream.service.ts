import { Inject, Injectable, MessageEvent, Optional } from '@nestjs/common';
import { EventEmitter2 } from '@nestjs/event-emitter';
import { Observable } from 'rxjs';

/** Milliseconds between heartbeats when the client does not choose; proxies drop connections idle for longer. */
export const EVENTS_HEARTBEAT_MS = Symbol('EVENTS_HEARTBEAT_MS');
export const DEFAULT_HEARTBEAT_MS = 15_000;
/** The event families offered to clients; anything else on the emitter stays internal. */
const PUBLIC_FAMILIES = ['container:', 'job:'];

export interface EventStreamOptions {
  /** Exact names or families (`container:*`, `*`); empty or absent means every public event. */
  types?: string[];
  containerId?: string;
  heartbeatMs?: number;
}

/**
 * RunnerHub's events as an Observable of SSE messages: one listener on the emitter per subscriber, removed when the
 * subscriber goes (Nest unsubscribes when the client disconnects), plus a heartbeat so that proxies keep the
 * connection open.
 */
@Injectable()
export class EventStreamService {
  private readonly defaultHeartbeatMs: number;

  constructor(
    private readonly emitter: EventEmitter2,
    @Optional() @Inject(EVENTS_HEARTBEAT_MS) heartbeatMs?: number,
  ) {
    this.defaultHeartbeatMs = heartbeatMs ?? DEFAULT_HEARTBEAT_MS;
  }

  stream(options: EventStreamOptions = {}): Observable<MessageEvent> {
    const matches = eventMatcher(options.types ?? []);
    const heartbeatMs = options.heartbeatMs ?? this.defaultHeartbeatMs;
    return new Observable<MessageEvent>((subscriber) => {
      const listener = (event: string | string[], payload: unknown) => {
        const name = Array.isArray(event) ? event.join(':') : event;
        if (!PUBLIC_FAMILIES.some((family) => name.startsWith(family)) || !matches(name)) return;
        if (options.containerId !== undefined && containerIdOf(payload) !== options.containerId) return;
        subscriber.next({ type: name, data: toData(payload) });
      };
      this.emitter.onAny(listener);
      const heartbeat = setInterval(
        () => subscriber.next({ type: 'heartbeat', data: { at: new Date().toISOString() } }),
        heartbeatMs,
      );
      return () => {
        clearInterval(heartbeat);
        this.emitter.offAny(listener);
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
