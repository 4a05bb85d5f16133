import { canTransition, ContainerState, DomainError, ErrorCode, EVENT_FOR_STATE, EventPublisher } from '@app/common';
import {
  BatchTransitionResult,
  ContainerRecordEntity,
  ContainerRecordRepository,
  RecordMove,
  TransitionChange,
} from '@app/persistence';
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
    this.told(updated, record.state, change);
    return updated;
  }

  /**
   * Many moves written in one transaction (ContainerRecordRepository.transitionMany), each announced once all are
   * committed. An illegal move is refused before anything is written, as move() refuses it; a record someone else
   * changed since it was read is refused (CONFLICT) and the others still move.
   */
  async moveMany(moves: RecordMove[]): Promise<BatchTransitionResult> {
    const illegal = moves.filter(({ record, change }) => !canTransition(record.state, change.to));
    if (illegal.length > 0) {
      const [{ record, change }] = illegal;
      throw illegalTransition(record, change.to);
    }
    const result = await this.records.transitionMany(moves);
    const byId = new Map(moves.map((move) => [move.record.id, move]));
    for (const updated of result.moved) {
      const { record, change } = byId.get(updated.id)!;
      this.told(updated, record.state, change);
    }
    return result;
  }

  /**
   * Records an operation's failure. An engine that stopped answering half-way leaves the record where it is (a
   * transitional state the reconciler resolves once the engine is back); any other failure is ERROR with its reason.
   */
  async recordFailure(id: string, error: unknown, actor: string): Promise<void> {
    if (DomainError.is(error, ErrorCode.EngineUnavailable)) return;
    const record = await this.records.findById(id);
    if (!record || !canTransition(record.state, ContainerState.Error)) return;
    const reason = error instanceof Error ? error.message : String(error);
    await this.move(record, { to: ContainerState.Error, reason, actor });
  }

  /** Logs a written move and publishes its event. */
  private told(updated: ContainerRecordEntity, previousState: ContainerState, change: TransitionChange): void {
    this.logger.log(
      `${updated.name} ${previousState} -> ${updated.state} (${change.reason}; by ${change.actor}` +
        `${change.exitCode !== undefined && change.exitCode !== null ? `; exit ${change.exitCode}` : ''})`,
    );
    this.announce(updated, previousState, change);
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

export function illegalTransition(
  record: Pick<ContainerRecordEntity, 'id' | 'state'>,
  to: ContainerState,
  action?: string,
): DomainError {
  return new DomainError(
    ErrorCode.IllegalTransition,
    `Container ${record.id} is ${record.state}: it cannot ${action ?? `become ${to}`} from that state`,
    { id: record.id, state: record.state, requested: to },
  );
}
