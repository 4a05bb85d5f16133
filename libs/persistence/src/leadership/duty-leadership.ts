import { Duty, DUTIES } from './duties';

export type LeaderRun<T> = { ran: true; result: T } | { ran: false };

/**
 * Which periodic duties this process leads. Schedulers ask before each tick, so that with replicas on one database a
 * duty runs on one of them only; `runs` counts the ticks this process ran, for the metrics.
 */
export abstract class DutyLeadership {
  private readonly runCounts = new Map<Duty, number>(DUTIES.map((duty) => [duty, 0]));

  abstract isLeader(duty: Duty): boolean;

  /** Runs the work when this process leads the duty; otherwise does nothing. */
  async runIfLeader<T>(duty: Duty, work: () => Promise<T>): Promise<LeaderRun<T>> {
    if (!this.isLeader(duty)) return { ran: false };
    this.runCounts.set(duty, (this.runCounts.get(duty) ?? 0) + 1);
    return { ran: true, result: await work() };
  }

  /** How many times this process ran the duty since it started. */
  runs(duty: Duty): number {
    return this.runCounts.get(duty) ?? 0;
  }
}

/** SQLite serves one process (SqliteProcessGuard sees to it), so that process leads every duty. */
export class SoleProcessLeadership extends DutyLeadership {
  isLeader(): boolean {
    return true;
  }
}
