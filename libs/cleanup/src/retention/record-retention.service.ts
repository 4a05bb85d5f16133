import { AppConfig } from '@app/common';
import { AuditLogRepository, ContainerStatsRepository, GitHubDeliveryRepository, ScanLock } from '@app/persistence';
import { Injectable, Logger } from '@nestjs/common';

/** Any constant shared by the replicas: the advisory lock that lets one of them prune at a time. */
const RETENTION_LOCK_KEY = 0x52544e54; // "RTNT"
/** Rows deleted per statement: small enough that each delete is over in milliseconds, whatever the backlog. */
export const RETENTION_BATCH_SIZE = 1_000;
const A_DAY_MS = 86_400_000;

/** How many rows one pruning run removed from each record; all zero when another replica held the lock. */
export interface RetentionReport {
  auditEntries: number;
  deliveryReceipts: number;
  statsSamples: number;
}

/** One kind of record with a retention: its name in the log, how old a row may get, and how to delete a batch. */
interface RetainedRecord {
  key: keyof RetentionReport;
  described: string;
  maxAgeMs: number;
  pruneBatch(cutoff: Date, limit: number): Promise<number>;
}

/**
 * Deletes what has outlived its retention: audit entries after AUDIT_RETENTION_DAYS, webhook delivery receipts after
 * DELIVERY_RETENTION_DAYS, resource samples after STATS_RETENTION_MS. Rows go in batches, each its own short
 * statement, so that a table grown large (a flood, a long outage of this job) is worked down without one long lock
 * that would stall the requests writing to it. Runs never overlap, here or across replicas.
 */
@Injectable()
export class RecordRetention {
  private readonly logger = new Logger(RecordRetention.name);
  private running: Promise<RetentionReport> | null = null;
  private readonly records: RetainedRecord[];

  constructor(
    config: AppConfig,
    private readonly lock: ScanLock,
    audit: AuditLogRepository,
    deliveries: GitHubDeliveryRepository,
    samples: ContainerStatsRepository,
  ) {
    const { auditDays, deliveryDays } = config.retention;
    this.records = [
      {
        key: 'auditEntries',
        described: `audit entries (older than ${auditDays} days)`,
        maxAgeMs: auditDays * A_DAY_MS,
        pruneBatch: (cutoff, limit) => audit.pruneBatch(cutoff, limit),
      },
      {
        key: 'deliveryReceipts',
        described: `webhook delivery receipts (older than ${deliveryDays} days)`,
        maxAgeMs: deliveryDays * A_DAY_MS,
        pruneBatch: (cutoff, limit) => deliveries.pruneBatch(cutoff, limit),
      },
      {
        key: 'statsSamples',
        described: `resource samples (older than ${config.monitoring.statsRetentionMs} ms)`,
        maxAgeMs: config.monitoring.statsRetentionMs,
        pruneBatch: (cutoff, limit) => samples.pruneBatch(cutoff, limit),
      },
    ];
  }

  /** Prunes every record now, or, when a run is under way, answers with that one. */
  run(now: Date = new Date()): Promise<RetentionReport> {
    this.running ??= this.prune(now).finally(() => {
      this.running = null;
    });
    return this.running;
  }

  private async prune(now: Date): Promise<RetentionReport> {
    const report: RetentionReport = { auditEntries: 0, deliveryReceipts: 0, statsSamples: 0 };
    const exclusive = await this.lock.runExclusive(RETENTION_LOCK_KEY, async () => {
      for (const record of this.records) {
        report[record.key] = await this.pruneAll(record, new Date(now.getTime() - record.maxAgeMs));
      }
    });
    if (!exclusive.ran) return report;
    const pruned = this.records.filter((record) => report[record.key] > 0);
    if (pruned.length > 0) {
      // Counts and ages only: nothing of what the rows held.
      this.logger.log(`Pruned ${pruned.map((record) => `${report[record.key]} ${record.described}`).join(', ')}`);
    }
    return report;
  }

  private async pruneAll(record: RetainedRecord, cutoff: Date): Promise<number> {
    let total = 0;
    for (;;) {
      const deleted = await record.pruneBatch(cutoff, RETENTION_BATCH_SIZE);
      total += deleted;
      if (deleted < RETENTION_BATCH_SIZE) return total;
      // Lets the requests queued behind this batch (SQLite has one connection) through before the next one.
      await new Promise((resolve) => setImmediate(resolve));
    }
  }
}
