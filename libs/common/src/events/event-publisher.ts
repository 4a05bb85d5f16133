import { Injectable, Logger } from '@nestjs/common';
import { EventEmitter2 } from '@nestjs/event-emitter';
import { RunnerHubEventMap, RunnerHubEventName } from './runnerhub-events';

/**
 * The only way RunnerHub publishes events: the name fixes the payload's type. Events are published after the change
 * they announce has been persisted, so a listener that throws is logged here and never fails that operation.
 */
@Injectable()
export class EventPublisher {
  private readonly logger = new Logger(EventPublisher.name);

  constructor(private readonly emitter: EventEmitter2) {}

  publish<K extends RunnerHubEventName>(name: K, payload: RunnerHubEventMap[K]): void {
    try {
      this.emitter.emit(name, payload);
    } catch (error) {
      this.logger.error(`A listener of ${name} failed: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
}
