import { ContainerState, isDaemonSidecar, MANAGED_SELECTOR, RunnerHubLabel } from '@app/common';
import { EngineConnection, EngineEvent, EngineRegistry } from '@app/docker';
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

/** One engine's resync: at most one running, and at most one more asked for while it runs. */
interface ResyncState {
  running: Promise<void> | null;
  again: boolean;
}

/**
 * Keeps the records in step with the engines. It follows each engine's event stream, so a container that exits, is
 * killed or OOM-killed outside RunnerHub is seen within a second; and every time a stream (re)connects, at start and
 * after an engine outage, it compares every record of that engine with the labelled containers the engine really
 * holds. Engines that join the fleet later are followed from the moment they join.
 */
@Injectable()
export class ContainerReconciler implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger(ContainerReconciler.name);
  private readonly subscriptions: Subscription[] = [];
  private readonly perEngine = new Map<string, { subscriptions: Subscription[]; resync: ResyncState }>();

  constructor(
    private readonly engines: EngineRegistry,
    private readonly records: ContainerRecordRepository,
    private readonly sync: EngineStateSync,
    private readonly daemons: RunnerDaemons,
  ) {}

  onApplicationBootstrap(): void {
    for (const connection of this.engines.all()) this.follow(connection);
    this.subscriptions.push(
      this.engines.added$.subscribe((connection) => this.follow(connection)),
      this.engines.removed$.subscribe((connection) => this.unfollow(connection.name)),
    );
  }

  onModuleDestroy(): void {
    this.subscriptions.forEach((s) => s.unsubscribe());
    for (const name of [...this.perEngine.keys()]) this.unfollow(name);
  }

  /**
   * Compares every open record of an engine (of each engine, without a name) with what that engine holds, and
   * resolves each difference. One pass per engine at a time: a request while one runs is folded into one more pass.
   */
  async resync(engineName?: string): Promise<void> {
    if (engineName === undefined) {
      await Promise.all(this.engines.all().map((connection) => this.resync(connection.name)));
      return;
    }
    const connection = this.engines.find(engineName);
    const state = this.perEngine.get(engineName)?.resync;
    if (!connection || !state) return;
    if (state.running) {
      state.again = true;
      return state.running;
    }
    state.running = (async () => {
      do {
        state.again = false;
        await this.resyncOnce(connection).catch((error: unknown) =>
          this.logger.warn(`Resync with engine ${engineName} failed, will retry on reconnect: ${describe(error)}`),
        );
      } while (state.again);
    })().finally(() => (state.running = null));
    return state.running;
  }

  private follow(connection: EngineConnection): void {
    if (this.perEngine.has(connection.name)) return;
    const { events } = connection;
    this.perEngine.set(connection.name, {
      resync: { running: null, again: false },
      subscriptions: [
        events.status$.subscribe((status) => {
          if (status === 'connected') void this.resync(connection.name);
        }),
        events.events$.subscribe((event) => void this.onEngineEvent(connection, event)),
      ],
    });
    events.start();
  }

  private unfollow(engineName: string): void {
    const followed = this.perEngine.get(engineName);
    if (!followed) return;
    followed.subscriptions.forEach((s) => s.unsubscribe());
    this.perEngine.delete(engineName);
    this.engines.find(engineName)?.events.stop();
  }

  private async resyncOnce({ name, engine }: EngineConnection): Promise<void> {
    const onEngine = await engine.listByLabel(MANAGED_SELECTOR, { all: true });
    const open = (
      await this.records.findInStates(Object.values(ContainerState).filter((s) => s !== ContainerState.Removed))
    ).filter((record) => record.engineName === name);
    const known = new Set(open.flatMap((r) => [r.id, r.engineId]));
    let changed = 0;
    for (const record of open) {
      if (await this.sync.reconcile(record.id)) changed += 1;
    }
    for (const container of onEngine) {
      if (isDaemonSidecar(container.labels)) continue;
      const recordId = container.labels[RunnerHubLabel.Record];
      if (known.has(container.id) || (recordId && known.has(recordId))) continue;
      if (await this.sync.adopt(engine, container.id)) changed += 1;
    }
    const orphanDaemons = await this.daemons.releaseOrphans(engine);
    this.logger.log(
      `Resynced with engine ${name}: ${open.length} open records, ${onEngine.length} labelled containers, ${changed} corrected` +
        (orphanDaemons > 0 ? `, ${orphanDaemons} orphaned runner daemons released` : ''),
    );
  }

  private async onEngineEvent({ engine }: EngineConnection, event: EngineEvent): Promise<void> {
    if (event.type !== 'container' || !ACTIONS_TO_CHECK.has(event.action)) return;
    if (event.attributes[RunnerHubLabel.Managed] !== 'true' || isDaemonSidecar(event.attributes)) return;
    try {
      const recordId = event.attributes[RunnerHubLabel.Record];
      const record =
        (recordId ? await this.records.findById(recordId) : null) ?? (await this.records.findByEngineId(event.id));
      if (!record) {
        if (event.action !== 'destroy') await this.sync.adopt(engine, event.id);
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
