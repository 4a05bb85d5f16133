import { EngineEventName, EngineStateName, errorMessage, EventPublisher } from '@app/common';
import { AuditLogRepository } from '@app/persistence';
import { Injectable, Logger } from '@nestjs/common';

/** Who made the changes the fleet makes on its own (the prober's): the actor of their events and audit rows. */
export const FLEET_SYSTEM_ACTOR = 'system';

/** One change to an engine, as its event says it. */
export interface EngineChange {
  engine: string;
  previousState: EngineStateName | null;
  state: EngineStateName;
  reason: string;
  actor: string;
}

/**
 * Tells the world an engine changed, once it is written: the event (`engine:*`, public, so event-stream clients of
 * every replica see it) and, for the changes nobody asked for through the API (an engine lost or back, a drain
 * finished), an audit row. Changes made through the API are audited by the HTTP layer already, one row per call.
 */
@Injectable()
export class EngineChangeNotifier {
  private readonly logger = new Logger('Fleet');

  constructor(
    private readonly events: EventPublisher,
    private readonly audit: AuditLogRepository,
  ) {}

  async announce(name: EngineEventName, change: EngineChange, at: Date = new Date()): Promise<void> {
    this.events.publish(name, { ...change, at: at.toISOString() });
    if (change.actor !== FLEET_SYSTEM_ACTOR) return;
    const entry = {
      at,
      actor: change.actor,
      role: null,
      // `engine.unreachable`, `engine.active`, `engine.drained`: the event's name as an audit action.
      action: name.replace(':', '.'),
      // No HTTP call made this change: no method, and status 0.
      method: '-',
      path: `/api/engines/${change.engine}`,
      target: change.engine,
      outcome: 'success' as const,
      status: 0,
      errorCode: null,
      details: { previousState: change.previousState, state: change.state, reason: change.reason },
      requestId: null,
    };
    // A failed write never undoes the change: the row's facts go to the log instead, as the HTTP audit does.
    await this.audit.append(entry).catch((error: unknown) => {
      this.logger.error(`Could not write the audit row ${JSON.stringify(entry)}: ${errorMessage(error)}`);
    });
  }
}
