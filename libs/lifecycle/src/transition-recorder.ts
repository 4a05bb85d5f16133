import { canTransition, ContainerState, DomainError, ErrorCode, EVENT_FOR_STATE, EventPublisher } from '@app/common';
import { ContainerRecordEntity, ContainerRecordRepository, TransitionChange } from '@app/persistence';
import { Injectable, Logger } from '@nestjs/common';

/**
 * Writes a state change and then announces it: the record and its history row are persisted first (one transaction,
 * guarded by the record's version), and only then is the event published. Illegal moves are refused here, so no
 * caller can write one.
 */
@Injectable()
export class TransitionRecorder {
  private readonly logger = new Logger(TransitionRecorder.name);

  constructor(
    private readonly records: ContainerRecordRepository,
    private readonly events: EventPublisher,
  ) {}

  async move(record: ContainerRecordEntity, change: TransitionChange): Promise<ContainerRecordEntity> {
    if (!canTransition(record.state, change.to)) {
      throw illegalTransition(record, change.to);
    }
    const updated = await this.records.transition(record.id, record.version, change);
    this.logger.log(
      `${updated.name} ${record.state} -> ${updated.state} (${change.reason}; by ${change.actor}` +
        `${change.exitCode !== undefined && change.exitCode !== null ? `; exit ${change.exitCode}` : ''})`,
    );
    this.announce(updated, record.state, change);
    return updated;
  }

  announce(record: ContainerRecordEntity, previousState: ContainerState | null, change: TransitionChange): void {
    const name = EVENT_FOR_STATE[record.state];
    if (!name) return;
    this.events.publish(name, {
      containerId: record.id,
      engineId: record.engineId,
      name: record.name,
      previousState,
      state: record.state,
      reason: change.reason,
      actor: change.actor,
      exitCode: record.exitCode,
      runnerId: record.runnerId,
      jobId: record.jobId,
      repository: record.repository,
      at: record.stateChangedAt.toISOString(),
    });
  }
}

export function illegalTransition(record: ContainerRecordEntity, to: ContainerState, action?: string): DomainError {
  return new DomainError(
    ErrorCode.IllegalTransition,
    `Container ${record.id} is ${record.state}: it cannot ${action ?? `become ${to}`} from that state`,
    { id: record.id, state: record.state, requested: to },
  );
}
