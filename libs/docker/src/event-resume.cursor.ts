import type { EngineEvent } from './engine.types';

const NANOS_PER_SECOND = 1_000_000_000n;
const NANOS_PER_MILLISECOND = 1_000_000n;

/**
 * Where to resume the engine's event stream after a drop, and which replayed events were already delivered.
 *
 * The engine's `since` is inclusive, and it stamps events before it orders them, so two events a few nanoseconds apart
 * can arrive in either order. Resuming exactly at the newest event seen would replay that event (a duplicate) and
 * could skip an older-stamped one still in flight (a loss). So the stream resumes a little earlier (the overlap)
 * and drops every replayed event it remembers delivering.
 */
export class EventResumeCursor {
  private newestNano: bigint | undefined;
  private connectedAtNano: bigint | undefined;
  private readonly delivered = new Set<string>();

  constructor(
    private readonly overlapMs: number,
    /** How many delivered events are remembered; must cover every event within the overlap. */
    private readonly memory = 4_096,
  ) {}

  /**
   * Records a connection at the engine's clock (its Date header): if no event arrives before the next drop, that
   * instant is where to resume.
   */
  markConnected(engineTimeMs: number): void {
    if (this.newestNano === undefined) this.connectedAtNano = BigInt(Math.floor(engineTimeMs)) * NANOS_PER_MILLISECOND;
  }

  /** True when the event is new and must be delivered; false for a replay of one already delivered. */
  accept(event: EngineEvent): boolean {
    const key = eventKey(event);
    if (this.delivered.has(key)) return false;
    this.delivered.add(key);
    if (this.delivered.size > this.memory) this.delivered.delete(this.delivered.values().next().value as string);
    const nano = BigInt(event.timeNano);
    if (this.newestNano === undefined || nano > this.newestNano) this.newestNano = nano;
    return true;
  }

  /** The `since` value for the next connection: unix seconds with nine decimals, or undefined to start live. */
  since(): string | undefined {
    const anchor = this.newestNano ?? this.connectedAtNano;
    if (anchor === undefined) return undefined;
    const from = anchor - BigInt(this.overlapMs) * NANOS_PER_MILLISECOND;
    const clamped = from > 0n ? from : 0n;
    return `${clamped / NANOS_PER_SECOND}.${(clamped % NANOS_PER_SECOND).toString().padStart(9, '0')}`;
  }
}

export function eventKey(event: EngineEvent): string {
  return `${event.timeNano}|${event.type}|${event.action}|${event.id}`;
}
