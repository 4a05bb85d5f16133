import type { RawStatsSample } from './resource-usage';

interface Entry {
  sample: RawStatsSample;
  at: number;
}

/**
 * The last raw stats sample per container, so that the next sample can be a fast one-shot and CPU can be computed
 * between the two. Bounded in size (least recently sampled dropped first) and in age; entries of removed containers
 * are forgotten explicitly.
 */
export class StatsBaselineCache {
  private readonly entries = new Map<string, Entry>();

  constructor(
    private readonly capacity: number,
    private readonly maxAgeMs: number,
  ) {}

  /** A recent enough sample for the container, by full id or by an unambiguous id prefix. */
  get(id: string, now: number): RawStatsSample | undefined {
    const key = this.resolve(id);
    const entry = key === undefined ? undefined : this.entries.get(key);
    if (!entry || key === undefined) return undefined;
    if (now - entry.at > this.maxAgeMs) {
      this.entries.delete(key);
      return undefined;
    }
    return entry.sample;
  }

  remember(id: string, sample: RawStatsSample, now: number): void {
    this.entries.delete(id);
    this.entries.set(id, { sample, at: now });
    // Map keeps insertion order, and remember() re-inserts: the first key is the least recently sampled.
    while (this.entries.size > this.capacity) this.entries.delete(this.entries.keys().next().value as string);
  }

  forget(id: string): void {
    const key = this.resolve(id);
    if (key !== undefined) this.entries.delete(key);
  }

  get size(): number {
    return this.entries.size;
  }

  private resolve(id: string): string | undefined {
    if (this.entries.has(id)) return id;
    // Short ids (docker ps shows 12 characters) are prefixes of the full one; anything shorter is too ambiguous.
    if (id.length < 12) return undefined;
    const matches = [...this.entries.keys()].filter((key) => key.startsWith(id));
    return matches.length === 1 ? matches[0] : undefined;
  }
}
