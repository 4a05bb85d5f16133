import { ContainerState, isDaemonSidecar, MANAGED_SELECTOR, RunnerHubLabel } from '@app/common';
import { DockerEngine, EngineEvent, EngineEventStream } from '@app/docker';
import { ContainerRecordRepository } from '@app/persistence';
import { Injectable, Logger, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import { Subscription } from 'rxjs';
import { RunnerDaemons } from './docker-profile/runner-daemons';
import { EngineStateSync } from './engine-state-sync';

/** Engine actions after which a record may no longer match its container. */
const ACTIONS_TO_CHECK = new Set(['start', 'die', 'oom', 'destroy']);
/** Record states in which an engine action is simply RunnerHub's own operation echoing back. */
const OWN_ECHO: Record<string, ReadonlySet<ContainerState>> = {
  start: new Set([ContainerState.Starting, ContainerState.Running]),
  die: new Set([ContainerState.Stopping, ContainerState.Stopped, ContainerState.Removing, ContainerState.Removed]),
  destroy: new Set([ContainerState.Removing, ContainerState.Removed]),
};

/**
 * Keeps the records in step with the engine. It follows the engine's event stream, so a container that exits, is
 * killed or OOM-killed outside RunnerHub is seen within a second; and every time the stream (re)connects, at start
 * and after an engine outage, it compares every record with the labelled containers the engine really holds.
 */
@Injectable()
export class ContainerReconciler implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger(ContainerReconciler.name);
  private readonly subscriptions: Subscription[] = [];
  private resyncing: Promise<void> | null = null;
  private resyncAgain = false;

  constructor(
    private readonly stream: EngineEventStream,
    private readonly engine: DockerEngine,
    private readonly records: ContainerRecordRepository,
    private readonly sync: EngineStateSync,
    private readonly daemons: RunnerDaemons,
  ) {}

  onApplicationBootstrap(): void {
    this.subscriptions.push(
      this.stream.status$.subscribe((status) => {
        if (status === 'connected') void this.resync();
      }),
      this.stream.events$.subscribe((event) => void this.onEngineEvent(event)),
    );
    this.stream.start();
  }

  onModuleDestroy(): void {
    this.subscriptions.forEach((s) => s.unsubscribe());
    this.stream.stop();
  }

  /**
   * Compares every open record with the engine and resolves each difference. Runs one at a time: a request while one
   * runs is folded into one more pass after it.
   */
  resync(): Promise<void> {
    if (this.resyncing) {
      this.resyncAgain = true;
      return this.resyncing;
    }
    this.resyncing = (async () => {
      do {
        this.resyncAgain = false;
        await this.resyncOnce().catch((error: unknown) =>
          this.logger.warn(`Resync with the engine failed, will retry on reconnect: ${describe(error)}`),
        );
      } while (this.resyncAgain);
    })().finally(() => (this.resyncing = null));
    return this.resyncing;
  }

  private async resyncOnce(): Promise<void> {
    const onEngine = await this.engine.listByLabel(MANAGED_SELECTOR, { all: true });
    const open = await this.records.findInStates(
      Object.values(ContainerState).filter((s) => s !== ContainerState.Removed),
    );
    const known = new Set(open.flatMap((r) => [r.id, r.engineId]));
    let changed = 0;
    for (const record of open) {
      if (await this.sync.reconcile(record.id)) changed += 1;
    }
    for (const container of onEngine) {
      if (isDaemonSidecar(container.labels)) continue;
      const recordId = container.labels[RunnerHubLabel.Record];
      if (known.has(container.id) || (recordId && known.has(recordId))) continue;
      if (await this.sync.adopt(container.id)) changed += 1;
    }
    const orphanDaemons = await this.daemons.releaseOrphans();
    this.logger.log(
      `Resynced with the engine: ${open.length} open records, ${onEngine.length} labelled containers, ${changed} corrected` +
        (orphanDaemons > 0 ? `, ${orphanDaemons} orphaned runner daemons released` : ''),
    );
  }

  private async onEngineEvent(event: EngineEvent): Promise<void> {
    if (event.type !== 'container' || !ACTIONS_TO_CHECK.has(event.action)) return;
    if (event.attributes[RunnerHubLabel.Managed] !== 'true' || isDaemonSidecar(event.attributes)) return;
    try {
      const recordId = event.attributes[RunnerHubLabel.Record];
      const record =
        (recordId ? await this.records.findById(recordId) : null) ?? (await this.records.findByEngineId(event.id));
      if (!record) {
        if (event.action !== 'destroy') await this.sync.adopt(event.id);
        return;
      }
      if (OWN_ECHO[event.action]?.has(record.state)) return;
      await this.sync.reconcile(record.id);
    } catch (error) {
      this.logger.warn(`Could not reconcile after engine event ${event.action} of ${event.id}: ${describe(error)}`);
    }
  }
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
