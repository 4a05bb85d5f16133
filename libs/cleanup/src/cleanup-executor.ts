import { AppConfig, mapConcurrently } from '@app/common';
import { EngineRegistry } from '@app/docker';
import { ContainerLifecycleManager, EngineStateSync } from '@app/lifecycle';
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

/**
 * Carries the policies' decisions out through the lifecycle manager, a bounded number at once, so every removal
 * gets its states, events (`container:removing`, `container:removed` with reason `cleanup:<policy>`) and history
 * like any other. A container someone else stopped or removed in the meantime is taken as it is: the manager's
 * lock and transition table decide, and a lost race is reported as skipped, never as a failure of the scan.
 */
@Injectable()
export class CleanupExecutor {
  private readonly logger = new Logger(CleanupExecutor.name);

  constructor(
    private readonly config: AppConfig,
    private readonly lifecycle: ContainerLifecycleManager,
    private readonly stateSync: EngineStateSync,
    private readonly records: ContainerRecordRepository,
    private readonly engines: EngineRegistry,
  ) {}

  execute(actions: CleanupAction[]): Promise<CleanupOutcome[]> {
    return mapConcurrently(actions, this.config.cleanup.concurrency, (action) => this.carryOut(action));
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
      const detail = error instanceof Error ? error.message : String(error);
      this.logger.warn(`Cleanup of ${action.name} (${action.policy}) skipped: ${detail}`);
      return { action, outcome: 'skipped', detail };
    }
  }

  private async remove(containerId: string, force: boolean, policy: string): Promise<void> {
    await this.lifecycle.remove(containerId, { force }, CLEANUP_ACTOR, `cleanup:${policy}`);
  }
}
