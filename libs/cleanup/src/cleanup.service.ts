import { CleanupEvent, EventPublisher } from '@app/common';
import { ScanLock } from '@app/persistence';
import { Injectable, Logger } from '@nestjs/common';
import { CleanupExecutor, CleanupOutcome } from './cleanup-executor';
import { CleanupInventory } from './cleanup-inventory';
import { CleanupAction, decideCleanup } from './cleanup-policies';
import { RunnerDaemons } from '@app/lifecycle';

/** Any constant shared by the replicas: the advisory lock that lets one of them scan at a time. */
const CLEANUP_LOCK_KEY = 0x434c4e55; // "CLNU"

export interface CleanupReport {
  trigger: 'schedule' | 'manual';
  startedAt: Date;
  durationMs: number;
  /** False when another scan (here, or on another replica) was already under way: nothing was done. */
  ran: boolean;
  outcomes: CleanupOutcome[];
}

/**
 * A cleanup scan: read what RunnerHub and the engine hold, let the policies decide, carry the decisions out. Scans
 * never overlap, in this process (the previous one must have finished) or across replicas (an advisory lock on
 * PostgreSQL). `preview` runs the same decision without acting on it.
 */
@Injectable()
export class CleanupService {
  private readonly logger = new Logger(CleanupService.name);
  private scanning: Promise<CleanupReport> | null = null;

  constructor(
    private readonly inventory: CleanupInventory,
    private readonly executor: CleanupExecutor,
    private readonly lock: ScanLock,
    private readonly events: EventPublisher,
    private readonly daemons: RunnerDaemons,
  ) {}

  async preview(now = new Date()): Promise<CleanupAction[]> {
    return decideCleanup(await this.inventory.take(now));
  }

  /** Runs a scan now, unless one is under way; a manual call then waits for that one and reports it. */
  run(trigger: CleanupReport['trigger']): Promise<CleanupReport> {
    if (this.scanning) return trigger === 'manual' ? this.scanning : Promise.resolve(skipped(trigger));
    this.scanning = this.scan(trigger).finally(() => {
      this.scanning = null;
    });
    return this.scanning;
  }

  private async scan(trigger: CleanupReport['trigger']): Promise<CleanupReport> {
    const startedAt = new Date();
    const started = performance.now();
    const exclusive = await this.lock.runExclusive(CLEANUP_LOCK_KEY, async () => {
      const [outcomes] = await Promise.all([
        this.inventory.take(startedAt).then((input) => this.executor.execute(decideCleanup(input))),
        // Runner daemons go with their runners (on their removal events); one left by a crash between the two goes
        // here. Alongside the removals rather than after them: the engine lists the units while it removes.
        this.daemons.releaseOrphans(),
      ]);
      return outcomes;
    });
    const report: CleanupReport = {
      trigger,
      startedAt,
      durationMs: performance.now() - started,
      ran: exclusive.ran,
      outcomes: exclusive.ran ? exclusive.result : [],
    };
    if (!exclusive.ran) return report;
    const count = (outcome: CleanupOutcome['outcome']) => report.outcomes.filter((o) => o.outcome === outcome).length;
    const [removed, resolved, skippedCount] = [count('removed'), count('resolved'), count('skipped')];
    if (report.outcomes.length > 0) {
      this.logger.log(
        `Cleanup (${trigger}): ${removed} removed, ${resolved} resolved, ${skippedCount} skipped in ${Math.round(report.durationMs)} ms`,
      );
    }
    this.events.publish(CleanupEvent.Scanned, {
      trigger,
      durationMs: report.durationMs,
      removed,
      resolved,
      skipped: skippedCount,
      at: new Date().toISOString(),
    });
    return report;
  }
}

function skipped(trigger: CleanupReport['trigger']): CleanupReport {
  return { trigger, startedAt: new Date(), durationMs: 0, ran: false, outcomes: [] };
}
