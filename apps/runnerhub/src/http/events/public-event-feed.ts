import { EngineEvent } from '@app/common';
import { Injectable } from '@nestjs/common';
import { EventEmitter2 } from '@nestjs/event-emitter';
import { merge, Observable, Subject } from 'rxjs';

/** An event offered to clients: its name (`container:stopped`) and its payload, as published. */
export interface PublicEvent {
  name: string;
  payload: unknown;
}

/** The event families offered to clients, and single events besides; anything else on the emitter stays internal. */
const PUBLIC_FAMILIES = ['container:', 'job:', 'pool:'];
const PUBLIC_NAMES: ReadonlySet<string> = new Set(Object.values(EngineEvent));

export function isPublicEvent(name: string): boolean {
  return PUBLIC_FAMILIES.some((family) => name.startsWith(family)) || PUBLIC_NAMES.has(name);
}

/**
 * The public events every event stream shows: this process's own, from the emitter, and those other replicas
 * published (handed in by the ReplicaEventBridge). The other replicas' events go to the streams only, never onto the
 * emitter: the listeners there (metrics, the orchestrator, monitoring) act on this process's events, and would
 * otherwise act a second time on what another replica has already done.
 */
@Injectable()
export class PublicEventFeed {
  private readonly remote = new Subject<PublicEvent>();

  constructor(private readonly emitter: EventEmitter2) {}

  /** This process's public events: one emitter listener per subscriber, removed when it unsubscribes. */
  local(): Observable<PublicEvent> {
    return new Observable<PublicEvent>((subscriber) => {
      const listener = (event: string | string[], payload: unknown) => {
        const name = Array.isArray(event) ? event.join(':') : event;
        if (isPublicEvent(name)) subscriber.next({ name, payload });
      };
      this.emitter.onAny(listener);
      return () => this.emitter.offAny(listener);
    });
  }

  /** This process's public events and the other replicas', in the order they reach this process. */
  all(): Observable<PublicEvent> {
    return merge(this.local(), this.remote);
  }

  /** Hands another replica's event to the streams open now (a stream opened later does not get it). */
  deliverRemote(event: PublicEvent): void {
    if (isPublicEvent(event.name)) this.remote.next(event);
  }
}
