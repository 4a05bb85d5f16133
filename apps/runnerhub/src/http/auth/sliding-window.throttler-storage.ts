import type { ThrottlerStorage } from '@nestjs/throttler';

/** What one call is answered (the library does not export the type by name). */
type ThrottlerStorageRecord = Awaited<ReturnType<ThrottlerStorage['increment']>>;

/** How often keys without live hits are forgotten: the library's own DEFAULT_SWEEP_INTERVAL. */
const SWEEP_INTERVAL_MS = 60_000;
/** A hit log compacts its array once this many expired entries lead it and they are at least half of it. */
const COMPACT_AFTER = 1_024;

/**
 * The expiry instants of one key's hits under one throttler, oldest first. A hit expires `ttl` after it came, and a
 * throttler's ttl is the same for every hit of a key, so the expired hits are always the first ones: pruning moves a
 * head index instead of copying the array.
 */
class HitLog {
  private expiries: number[] = [];
  private head = 0;

  get count(): number {
    return this.expiries.length - this.head;
  }

  /** The first hit to expire; undefined when there is none. */
  get oldest(): number | undefined {
    return this.count > 0 ? this.expiries[this.head] : undefined;
  }

  add(expiresAt: number): void {
    const last = this.expiries[this.expiries.length - 1];
    if (this.count === 0 || expiresAt >= last) {
      this.expiries.push(expiresAt);
      return;
    }
    // A ttl shortened between two calls: keep the order, at the cost of a search this once.
    let at = this.expiries.length;
    while (at > this.head && this.expiries[at - 1] > expiresAt) at -= 1;
    this.expiries.splice(at, 0, expiresAt);
  }

  prune(now: number): void {
    while (this.head < this.expiries.length && this.expiries[this.head] <= now) this.head += 1;
    if (this.head === this.expiries.length) {
      this.clear();
    } else if (this.head >= COMPACT_AFTER && this.head * 2 >= this.expiries.length) {
      this.expiries = this.expiries.slice(this.head);
      this.head = 0;
    }
  }

  clear(): void {
    this.expiries = [];
    this.head = 0;
  }
}

interface KeyRecord {
  expiresAt: number;
  blockExpiresAt: number;
  isBlocked: boolean;
  hits: Map<string, HitLog>;
}

/**
 * @nestjs/throttler's in-memory storage, with the same answers call for call (a unit test plays random calls against
 * both), in constant time per call. The library's ThrottlerStorageService filters every hit of the window into a new
 * array on each call, so a key's call costs grow with its limit: under bench:api (RATE_LIMIT_READS_PER_MINUTE at its
 * maximum, tens of thousands of hits in the window) that copy and its garbage were a fifth of what a read cost, and at
 * the default 6,000 reads a minute a busy key still copies 6,000 numbers per call. The library takes a storage of
 * one's own through ThrottlerModule's `storage` option, which is what this is for; the algorithm (a sliding log of
 * hits, a block of `blockDuration` once past the limit) is the library's.
 */
export class SlidingWindowThrottlerStorage implements ThrottlerStorage {
  private readonly records = new Map<string, KeyRecord>();
  private sweep?: NodeJS.Timeout;

  increment(
    key: string,
    ttl: number,
    limit: number,
    blockDuration: number,
    throttlerName: string,
  ): Promise<ThrottlerStorageRecord> {
    this.startSweep();
    const now = Date.now();
    const record = this.recordOf(key, ttl, now);
    const hits = this.hitsOf(record, throttlerName);
    hits.prune(now);
    let timeToExpire = secondsUntil(record.expiresAt, now);
    if (timeToExpire <= 0) {
      record.expiresAt = now + ttl;
      timeToExpire = secondsUntil(record.expiresAt, now);
    }
    if (blockDuration <= 0) return Promise.resolve(this.countWithoutBlock(hits, now, ttl, limit, timeToExpire));

    if (!record.isBlocked) hits.add(now + ttl);
    if (hits.count > limit && !record.isBlocked) {
      record.isBlocked = true;
      record.blockExpiresAt = now + blockDuration;
    }
    const timeToBlockExpire = secondsUntil(record.blockExpiresAt, now);
    if (timeToBlockExpire <= 0 && record.isBlocked) {
      // The block is over: the window starts again from this call.
      record.isBlocked = false;
      hits.clear();
      hits.add(now + ttl);
    }
    return Promise.resolve({ totalHits: hits.count, timeToExpire, isBlocked: record.isBlocked, timeToBlockExpire });
  }

  /** Stops the sweep and forgets every key (at shutdown, and between tests). */
  clear(): void {
    if (this.sweep) clearInterval(this.sweep);
    this.sweep = undefined;
    this.records.clear();
  }

  private countWithoutBlock(
    hits: HitLog,
    now: number,
    ttl: number,
    limit: number,
    timeToExpire: number,
  ): ThrottlerStorageRecord {
    const isBlocked = hits.count >= limit;
    if (!isBlocked) hits.add(now + ttl);
    const oldest = hits.oldest;
    return {
      totalHits: hits.count + (isBlocked ? 1 : 0),
      timeToExpire,
      isBlocked,
      timeToBlockExpire: isBlocked ? (oldest === undefined ? timeToExpire : secondsUntil(oldest, now)) : 0,
    };
  }

  private recordOf(key: string, ttl: number, now: number): KeyRecord {
    let record = this.records.get(key);
    if (!record) {
      record = { expiresAt: now + ttl, blockExpiresAt: 0, isBlocked: false, hits: new Map() };
      this.records.set(key, record);
    }
    return record;
  }

  private hitsOf(record: KeyRecord, throttlerName: string): HitLog {
    let hits = record.hits.get(throttlerName);
    if (!hits) {
      hits = new HitLog();
      record.hits.set(throttlerName, hits);
    }
    return hits;
  }

  private startSweep(): void {
    if (this.sweep) return;
    this.sweep = setInterval(() => this.forgetIdleKeys(Date.now()), SWEEP_INTERVAL_MS);
    this.sweep.unref();
  }

  /** Keys that are neither blocked, nor in their window, nor holding a live hit take no memory. */
  private forgetIdleKeys(now: number): void {
    for (const [key, record] of this.records) {
      if (record.isBlocked && record.blockExpiresAt > now) continue;
      if (record.expiresAt > now) continue;
      let live = false;
      for (const hits of record.hits.values()) {
        hits.prune(now);
        live ||= hits.count > 0;
      }
      if (!live) this.records.delete(key);
    }
  }
}

function secondsUntil(instant: number, now: number): number {
  return Math.ceil((instant - now) / 1_000);
}
