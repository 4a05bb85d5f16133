import { AppConfig } from '@app/common';
import { Injectable } from '@nestjs/common';

/** Which cap a refused stream hit: the key's own (SSE_MAX_PER_KEY) or the service's (SSE_MAX). */
export type StreamCap = 'per-key' | 'total';

export type SlotClaim = { granted: true; release: () => void } | { granted: false; cap: StreamCap; limit: number };

/**
 * How many event streams are open, per API key and in all, and whether one more may open. Each open stream holds a
 * listener, a timer and a socket: without a cap one viewer key could open them until the process runs out of memory
 * or file descriptors. A claim's release is idempotent, so every way a stream can end may call it.
 */
@Injectable()
export class EventStreamSlots {
  private readonly perKey = new Map<string, number>();
  private total = 0;
  private readonly maxOpen: number;
  private readonly maxOpenPerKey: number;

  constructor(config: AppConfig) {
    ({ maxOpen: this.maxOpen, maxOpenPerKey: this.maxOpenPerKey } = config.streams);
  }

  get open(): number {
    return this.total;
  }

  openFor(keyName: string): number {
    return this.perKey.get(keyName) ?? 0;
  }

  claim(keyName: string): SlotClaim {
    const held = this.openFor(keyName);
    // The key's own cap first: a key at its cap learns that closing one of its own streams is the fix.
    if (held >= this.maxOpenPerKey) return { granted: false, cap: 'per-key', limit: this.maxOpenPerKey };
    if (this.total >= this.maxOpen) return { granted: false, cap: 'total', limit: this.maxOpen };
    this.perKey.set(keyName, held + 1);
    this.total += 1;
    let released = false;
    return {
      granted: true,
      release: () => {
        if (released) return;
        released = true;
        this.total -= 1;
        const left = this.openFor(keyName) - 1;
        if (left > 0) this.perKey.set(keyName, left);
        else this.perKey.delete(keyName);
      },
    };
  }
}
