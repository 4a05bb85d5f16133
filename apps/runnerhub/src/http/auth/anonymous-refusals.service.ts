import { METRICS_REGISTRY } from '@app/monitoring/metrics';
import { AuditLogRepository, NewAuditLogEntry } from '@app/persistence';
import { BeforeApplicationShutdown, Inject, Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { SchedulerRegistry } from '@nestjs/schedule';
import { Counter, Registry } from 'prom-client';
import { isMutatingMethod } from '../mutating-methods';

/** Why a call without a valid key was refused: a short, fixed set, so the metric's series stay few. */
export type RefusalReason = 'missing-key' | 'invalid-key' | 'rate-limited' | 'unknown-route' | 'invalid-request';

/** One refused call without a valid API key, as the admission hook saw it end. */
export interface AnonymousRefusal {
  /** The client address (an IPv6 address reduced to its /64), for the count of distinct addresses only. */
  address: string;
  method: string;
  status: number;
  reason: RefusalReason;
}

/** The audit action of the summary row. */
export const ANONYMOUS_REFUSED_ACTION = 'auth.anonymous-refused';
/** One summary row a minute at most, however many calls were refused in it. */
export const SUMMARY_INTERVAL_MS = 60_000;
/** Distinct addresses remembered per interval; past this the summary says "at least". Bounds memory in a flood. */
const MAX_ADDRESSES = 10_000;
const SUMMARY_TIMER = 'audit:anonymous-refusals';

interface Interval {
  since: Date;
  refused: number;
  statuses: Map<number, number>;
  addresses: Set<string>;
}

/**
 * Refused calls without a valid API key are counted, never stored one row each: a stranger must not be able to
 * make RunnerHub write a row per request. Every one is counted in `runnerhub_http_refused_total{reason,status}`;
 * the mutating ones (those the audit log is about) are summed up into one `auth.anonymous-refused` audit row per
 * minute with the count, the statuses and the number of distinct addresses, so the audit table grows by a bounded
 * amount whatever the flood.
 */
@Injectable()
export class AnonymousRefusals implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger('Audit');
  private readonly refused: Counter<'reason' | 'status'>;
  private interval: Interval = freshInterval();
  private flushing: Promise<void> = Promise.resolve();

  constructor(
    @Inject(METRICS_REGISTRY) registry: Registry,
    private readonly audit: AuditLogRepository,
    private readonly scheduler: SchedulerRegistry,
  ) {
    this.refused = new Counter({
      name: 'runnerhub_http_refused_total',
      help:
        'Calls without a valid API key that were refused, by reason (missing-key, invalid-key, rate-limited, ' +
        'unknown-route, invalid-request) and HTTP status. Not audited one by one: see the auth.anonymous-refused rows.',
      labelNames: ['reason', 'status'],
      registers: [registry],
    });
  }

  onApplicationBootstrap(): void {
    this.scheduler.addInterval(
      SUMMARY_TIMER,
      setInterval(() => void this.flush(), SUMMARY_INTERVAL_MS),
    );
  }

  /** The last partial minute is written too, while the database is still open. */
  async beforeApplicationShutdown(): Promise<void> {
    if (this.scheduler.doesExist('interval', SUMMARY_TIMER)) this.scheduler.deleteInterval(SUMMARY_TIMER);
    await this.flush();
  }

  note(refusal: AnonymousRefusal): void {
    this.refused.inc({ reason: refusal.reason, status: String(refusal.status) });
    if (!isMutatingMethod(refusal.method)) return;
    const interval = this.interval;
    interval.refused += 1;
    interval.statuses.set(refusal.status, (interval.statuses.get(refusal.status) ?? 0) + 1);
    if (interval.addresses.size < MAX_ADDRESSES) interval.addresses.add(refusal.address);
  }

  /**
   * Writes the summary of the interval that ends now, if anything was refused in it, and starts the next one. A
   * failed write is logged with the summary's figures, so they are not lost, and never thrown.
   */
  flush(now: Date = new Date()): Promise<void> {
    const ended = this.interval;
    this.interval = freshInterval(now);
    if (ended.refused === 0) return this.flushing;
    const entry = summaryEntry(ended, now);
    this.flushing = this.flushing.then(() =>
      this.audit.append(entry).catch((error: unknown) => {
        const reason = error instanceof Error ? error.message : String(error);
        this.logger.error(`Could not write the audit row ${JSON.stringify(entry)}: ${reason}`);
      }),
    );
    return this.flushing;
  }
}

function freshInterval(since: Date = new Date()): Interval {
  return { since, refused: 0, statuses: new Map(), addresses: new Set() };
}

function summaryEntry(interval: Interval, until: Date): NewAuditLogEntry {
  const statuses = [...interval.statuses.entries()].sort(([a], [b]) => a - b);
  const [commonest] = [...statuses].sort(([, a], [, b]) => b - a)[0];
  return {
    at: until,
    actor: 'anonymous',
    role: null,
    action: ANONYMOUS_REFUSED_ACTION,
    // Many methods and paths at once: the row is about all of them.
    method: '*',
    path: '/api',
    target: null,
    outcome: 'failure',
    status: commonest,
    errorCode: null,
    details: {
      refused: interval.refused,
      addresses: interval.addresses.size,
      ...(interval.addresses.size >= MAX_ADDRESSES ? { addressesAtLeast: true } : {}),
      statuses: Object.fromEntries(statuses.map(([status, count]) => [String(status), count])),
      since: interval.since.toISOString(),
      until: until.toISOString(),
    },
    requestId: null,
  };
}
