import { canTransition, ContainerState, DomainError, ErrorCode, mapConcurrently } from '@app/common';
import { EngineRegistry } from '@app/docker';
import { ContainerRecordEntity, ContainerRecordRepository, RecordMove } from '@app/persistence';
import { Injectable } from '@nestjs/common';
import { ContainerLocks } from './container-locks';
import { EngineAvailability } from './engine-availability';
import { illegalTransition, TransitionRecorder } from './transition-recorder';

/** One container to remove, and the reason its history gives for it. */
export interface BulkRemoval {
  id: string;
  reason: string;
}

type Settled = PromiseSettledResult<ContainerRecordEntity>;

/**
 * Removes many containers at once, each as ContainerLifecycleManager.remove() without force removes one: under its
 * lock, REMOVING written and announced before the engine is asked, REMOVED (or ERROR with the engine's reason) after,
 * with the same reasons, actor and events. What the containers share is paid once: one availability check per engine
 * rather than one per container, and each of the two steps written for all of them in one transaction. A cleanup scan removes a
 * hundred containers this way in about the time the engine takes to remove them.
 */
@Injectable()
export class ContainerBulkRemover {
  constructor(
    private readonly engines: EngineRegistry,
    private readonly records: ContainerRecordRepository,
    private readonly recorder: TransitionRecorder,
    private readonly locks: ContainerLocks,
    private readonly availability: EngineAvailability,
  ) {}

  /**
   * One result per removal, in their order: the removed record, or why that one was not removed (it is running, an
   * engine did not answer, someone else changed it first...). One refusal or failure never holds up the others.
   * At most `concurrency` removals are in flight on the engines at once.
   */
  removeAll(removals: BulkRemoval[], actor: string, concurrency: number): Promise<Settled[]> {
    const ids = removals.map((removal) => removal.id);
    return this.locks.runAll(ids, async () => {
      const outcomes = new Map<string, Settled>();
      const refuse = (id: string, reason: unknown) => outcomes.set(id, { status: 'rejected', reason });
      const accept = (record: ContainerRecordEntity) => outcomes.set(record.id, { status: 'fulfilled', value: record });

      const due = await this.removable(ids, accept, refuse);
      const reasons = new Map(removals.map((removal) => [removal.id, removal.reason]));
      const removing = await this.moveAll(due, ContainerState.Removing, (id) => reasons.get(id)!, actor, refuse);
      const gone = await mapConcurrently(removing, concurrency, async (record) => {
        try {
          if (record.engineId) {
            await this.engines.get(record.engineName).engine.remove(record.engineId, { force: true, volumes: true });
          }
          return record;
        } catch (error) {
          await this.recorder.recordFailure(record.id, error, actor);
          refuse(record.id, error);
          return null;
        }
      });
      const removed = await this.moveAll(
        gone.filter((record) => record !== null),
        ContainerState.Removed,
        () => 'removed from the engine',
        actor,
        refuse,
      );
      removed.forEach(accept);
      return removals.map((removal) => outcomes.get(removal.id)!);
    });
  }

  /**
   * The records that can go now. A removed one is accepted as it is, one that cannot move to REMOVING (running, or
   * under way) is refused, and so is every one on an engine that does not answer, before anything is
   * written.
   */
  private async removable(
    ids: string[],
    accept: (record: ContainerRecordEntity) => void,
    refuse: (id: string, reason: unknown) => void,
  ): Promise<ContainerRecordEntity[]> {
    const found = new Map((await this.records.findByIds(ids)).map((record) => [record.id, record]));
    const candidates: ContainerRecordEntity[] = [];
    for (const id of new Set(ids)) {
      const record = found.get(id);
      if (!record) refuse(id, new DomainError(ErrorCode.NotFound, `Container ${id} does not exist`, { id }));
      else if (record.state === ContainerState.Removed) accept(record);
      else if (!canTransition(record.state, ContainerState.Removing)) {
        refuse(id, illegalTransition(record, ContainerState.Removing, 'be removed'));
      } else candidates.push(record);
    }
    const onEngines = [...new Set(candidates.filter((r) => r.engineId).map((r) => r.engineName))];
    const unanswered = new Map<string, unknown>();
    await Promise.all(
      onEngines.map(async (engineName) => {
        try {
          await this.availability.require(engineName);
        } catch (error) {
          unanswered.set(engineName, error);
        }
      }),
    );
    return candidates.filter((record) => {
      const failure = record.engineId ? unanswered.get(record.engineName) : undefined;
      if (failure !== undefined) refuse(record.id, failure);
      return failure === undefined;
    });
  }

  /** Moves the records in one transaction; those someone else changed first are refused, the moved ones returned. */
  private async moveAll(
    records: ContainerRecordEntity[],
    to: ContainerState,
    reason: (id: string) => string,
    actor: string,
    refuse: (id: string, reason: unknown) => void,
  ): Promise<ContainerRecordEntity[]> {
    const moves: RecordMove[] = records.map((record) => ({ record, change: { to, reason: reason(record.id), actor } }));
    const { moved, refused } = await this.recorder.moveMany(moves);
    refused.forEach((error, id) => refuse(id, error));
    return moved;
  }
}
