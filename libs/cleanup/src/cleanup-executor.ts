import { AppConfig, mapConcurrently } from '@app/common';
import { EngineRegistry } from '@app/docker';
import { ContainerBulkRemover, ContainerLifecycleManager, EngineStateSync } from '@app/lifecycle';
import { ContainerRecordRepository } from '@app/persistence';
import { Injectable, Logger } from '@nestjs/common';
import { CleanupAction } from './cleanup-policies';

export const CLEANUP_ACTOR = 'cleanup';

export interface CleanupOutcome {
  action: CleanupAction;
  outcome: 'removed' | 'resolved' | 'skipped';
  /** Why it was skipped (someone got there first, the engine refused...). */
  detail: string | null;
}

/** A removal of a container that is not running: most of what a scan does, and all of it done in one batch. */
type PlainRemoval = Extract<CleanupAction, { kind: 'remove' }>;

/**
 * Carries the policies' decisions out through the lifecycle, a bounded number at once, so every removal gets its
 * states, events (`container:removing`, `container:removed` with reason `cleanup:<policy>`) and history like any
 * other. The removals of containers that are not running go together through the bulk remover (one engine ping and
 * two transactions for all of them); the rest (a forced removal, an adoption, a stuck record) one by one through the
 * manager. A container someone else stopped or removed in the meantime is taken as it is: the locks and transition
 * table decide, and a lost race is reported as skipped, never as a failure of the scan.
 */
@Injectable()
export class CleanupExecutor {
  private readonly logger = new Logger(CleanupExecutor.name);

  constructor(
    private readonly config: AppConfig,
    private readonly lifecycle: ContainerLifecycleManager,
    private readonly bulk: ContainerBulkRemover,
    private readonly stateSync: EngineStateSync,
    private readonly records: ContainerRecordRepository,
    private readonly engines: EngineRegistry,
  ) {}

  async execute(actions: CleanupAction[]): Promise<CleanupOutcome[]> {
    const isPlain = (action: CleanupAction): action is PlainRemoval => action.kind === 'remove' && !action.force;
    const plain = actions.filter(isPlain);
    const others = actions.filter((action) => !isPlain(action));
    const plainOutcomes = await this.removeTogether(plain);
    const otherOutcomes = await mapConcurrently(others, this.config.cleanup.concurrency, (action) =>
      this.carryOut(action),
    );
    const byAction = new Map([...plainOutcomes, ...otherOutcomes].map((outcome) => [outcome.action, outcome]));
    return actions.map((action) => byAction.get(action)!);
  }

  private async removeTogether(actions: PlainRemoval[]): Promise<CleanupOutcome[]> {
    if (actions.length === 0) return [];
    const removals = actions.map((action) => ({ id: action.containerId, reason: reasonOf(action.policy) }));
    const settled = await this.bulk
      .removeAll(removals, CLEANUP_ACTOR, this.config.cleanup.concurrency)
      .catch((error: unknown) =>
        actions.map((): PromiseSettledResult<never> => ({ status: 'rejected', reason: error })),
      );
    return actions.map((action, i) => {
      const result = settled[i];
      return result.status === 'fulfilled'
        ? { action, outcome: 'removed', detail: null }
        : this.skipped(action, result.reason);
    });
  }

  private async carryOut(action: CleanupAction): Promise<CleanupOutcome> {
    try {
      switch (action.kind) {
        case 'remove':
          await this.remove(action.containerId, action.force, action.policy);
          return { action, outcome: 'removed', detail: null };
        case 'resolve':
          await this.stateSync.reconcile(action.containerId);
          return { action, outcome: 'resolved', detail: null };
        case 'adopt-and-remove': {
          await this.stateSync.adopt(this.engines.get(action.engineName).engine, action.engineId);
          const adopted = await this.records.findByEngineId(action.engineId);
          if (!adopted)
            return { action, outcome: 'skipped', detail: 'gone from the engine before it could be adopted' };
          await this.remove(adopted.id, true, action.policy);
          return { action, outcome: 'removed', detail: null };
        }
      }
    } catch (error) {
      return this.skipped(action, error);
    }
  }

  private skipped(action: CleanupAction, error: unknown): CleanupOutcome {
    const detail = error instanceof Error ? error.message : String(error);
    this.logger.warn(`Cleanup of ${action.name} (${action.policy}) skipped: ${detail}`);
    return { action, outcome: 'skipped', detail };
  }

  private async remove(containerId: string, force: boolean, policy: string): Promise<void> {
    await this.lifecycle.remove(containerId, { force }, CLEANUP_ACTOR, reasonOf(policy));
  }
}

/** The reason a cleanup removal gives in the container's history and events. */
function reasonOf(policy: string): string {
  return `cleanup:${policy}`;
}
