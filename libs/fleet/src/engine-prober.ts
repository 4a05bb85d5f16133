import { AppConfig, EngineEvent, errorMessage } from '@app/common';
import { EngineRegistry } from '@app/docker';
import { EngineEntity, EngineRepository } from '@app/persistence';
import { Injectable, Logger } from '@nestjs/common';
import { EngineChangeNotifier, FLEET_SYSTEM_ACTOR } from './engine-change.notifier';
import { EngineOccupancy } from './engine-occupancy';

const MIB = 1024 * 1024;

/**
 * The `engine-probe` duty (run on its leader by EngineProbeScheduler): asks every engine whether it answers, and
 * moves engines between states by what it hears.
 *
 * - An engine that answers its ping has `lastSeenAt` written, with its memory and CPUs from `info`; an `unreachable`
 *   one that answers becomes `active`.
 * - An `active` or `draining` engine silent for ENGINE_UNREACHABLE_AFTER_MS (since it last answered, or since it
 *   entered its state, or since this replica began probing, whichever is latest) becomes `unreachable`, with its
 *   last error as the reason: its jobs move elsewhere. A `drained` one stays drained: nothing is on it to move.
 * - A `draining` engine with no live container and no assigned or running job becomes `drained`.
 *
 * Each engine is probed on its own: a round starts a probe of each engine that has none under way and does not wait
 * for them, so an engine that hangs until the control deadline delays nobody else's probe, nor the judgement of its
 * own silence.
 */
@Injectable()
export class EngineProber {
  private readonly logger = new Logger('Fleet');
  private readonly probing = new Map<string, Promise<void>>();
  /** What each engine's last failed probe said, for the reason an engine is unreachable. */
  private readonly lastErrors = new Map<string, string>();
  /** When each engine last answered this replica (it may not be written yet when the next round judges). */
  private readonly lastAnswers = new Map<string, number>();
  /** When this replica's current run of rounds began: nobody is judged silent for the time it was not probing. */
  private probingSince = 0;
  private lastRoundAt: number | null = null;
  private stopped = false;

  constructor(
    private readonly config: AppConfig,
    private readonly engines: EngineRegistry,
    private readonly repository: EngineRepository,
    private readonly occupancy: EngineOccupancy,
    private readonly changes: EngineChangeNotifier,
  ) {}

  /** One round over every engine of the table. Resolves once the states are judged; the probes go on by themselves. */
  async round(): Promise<void> {
    const now = Date.now();
    // Rounds come every interval while this replica leads; a longer gap means it has just (again) become the leader.
    if (this.lastRoundAt === null || now - this.lastRoundAt > 2 * this.config.engineProbe.intervalMs) {
      this.probingSince = now;
    }
    this.lastRoundAt = now;
    const rows = await this.repository.list();
    for (const row of rows) this.startProbe(row);
    await Promise.all(
      rows.map((row) =>
        this.judge(row, now).catch((error: unknown) =>
          this.logger.warn(`Judging engine ${row.name} failed: ${errorMessage(error)}`),
        ),
      ),
    );
  }

  /** Resolves when every probe under way has ended (for tests, and for shutdown). */
  async settled(): Promise<void> {
    await Promise.all(this.probing.values());
  }

  /** After this, probes still under way write nothing: the database may be closing. */
  stop(): void {
    this.stopped = true;
  }

  private startProbe(row: EngineEntity): void {
    if (this.probing.has(row.name)) return;
    const probe = this.probe(row)
      .catch((error: unknown) => this.logger.warn(`Recording the probe of ${row.name} failed: ${errorMessage(error)}`))
      .finally(() => this.probing.delete(row.name));
    this.probing.set(row.name, probe);
  }

  private async probe(row: EngineEntity): Promise<void> {
    const connection = this.engines.find(row.name);
    if (!connection) {
      this.lastErrors.set(row.name, 'not connected on the replica that probes the engines (see its log)');
      return;
    }
    try {
      await connection.engine.ping();
    } catch (error) {
      this.lastErrors.set(row.name, errorMessage(error));
      return;
    }
    const seenAt = new Date();
    this.lastAnswers.set(row.name, seenAt.getTime());
    this.lastErrors.delete(row.name);
    const info = await connection.engine.info().catch(() => null);
    if (this.stopped) return;
    await this.repository.recordSeen(
      row.name,
      seenAt,
      info ? { memoryMb: Math.floor(info.memoryBytes / MIB), cpuMillis: Math.round(info.cpus * 1000) } : null,
    );
    const reason = `answered again at ${connection.endpoint}`;
    // Conditional on the state it has now, not the one the round read: the round may have just called it unreachable.
    if (await this.repository.moveState(row.name, ['unreachable'], 'active', reason)) {
      await this.announce(EngineEvent.Active, row.name, 'unreachable', 'active', reason);
    }
  }

  private async judge(row: EngineEntity, now: number): Promise<void> {
    if (row.state === 'active' || row.state === 'draining') {
      const lastSeen = Math.max(row.lastSeenAt?.getTime() ?? 0, this.lastAnswers.get(row.name) ?? 0);
      const since = Math.max(lastSeen, row.stateChangedAt.getTime(), this.probingSince);
      const silentMs = now - since;
      if (silentMs >= this.config.engineProbe.unreachableAfterMs) {
        const reason =
          `no answer for ${lastSeen > 0 ? `${now - lastSeen} ms` : 'as long as it has been probed'} ` +
          `(ENGINE_UNREACHABLE_AFTER_MS is ${this.config.engineProbe.unreachableAfterMs}): ` +
          (this.lastErrors.get(row.name) ?? 'its last ping is still waiting for an answer');
        if (await this.repository.moveState(row.name, [row.state], 'unreachable', reason)) {
          await this.announce(EngineEvent.Unreachable, row.name, row.state, 'unreachable', reason);
        }
        return;
      }
    }
    if (row.state === 'draining' && (await this.occupancy.isEmpty(row.name))) {
      const reason = 'drained: no container or job is left on it';
      if (await this.repository.moveState(row.name, ['draining'], 'drained', reason)) {
        await this.announce(EngineEvent.Drained, row.name, 'draining', 'drained', reason);
      }
    }
  }

  private async announce(
    event: (typeof EngineEvent)[keyof typeof EngineEvent],
    engine: string,
    previousState: EngineEntity['state'],
    state: EngineEntity['state'],
    reason: string,
  ): Promise<void> {
    this.logger.log(`Engine ${engine}: ${previousState} -> ${state} (${reason})`);
    await this.changes.announce(event, { engine, previousState, state, reason, actor: FLEET_SYSTEM_ACTOR });
  }
}
