import { Logger } from '@nestjs/common';
import type Dockerode from 'dockerode';
import type { Readable } from 'node:stream';
import type { ResourceUsage } from './engine.types';
import { computeResourceUsage, RawStatsSample } from './resource-usage';

interface Subscription {
  latest: ResourceUsage | null;
  abort: AbortController;
  ended: boolean;
  /** Date.now() when it was opened: see retainOnly. */
  openedAt: number;
}

/**
 * The engine's own stats stream of each followed container: the engine pushes a sample a second (with the previous
 * one as `precpu_stats`, so each frame carries its CPU %), and the latest is kept here. A monitoring round then
 * reads memory instead of making a request per container and waiting for the engine's next collector tick, and a
 * container whose stream stalls only ages its own sample.
 */
export class ContainerStatsStreams {
  private readonly logger = new Logger(ContainerStatsStreams.name);
  private readonly subscriptions = new Map<string, Subscription>();

  constructor(private readonly client: Dockerode) {}

  /** Starts following a container's stats unless already following it (again, if its stream ended). */
  follow(engineId: string): void {
    const existing = this.subscriptions.get(engineId);
    if (existing && !existing.ended) return;
    const subscription: Subscription = {
      latest: existing?.latest ?? null,
      abort: new AbortController(),
      ended: false,
      openedAt: Date.now(),
    };
    this.subscriptions.set(engineId, subscription);
    void this.open(engineId, subscription);
  }

  /** The latest sample of a followed container, or null before its first. */
  latest(engineId: string): ResourceUsage | null {
    return this.subscriptions.get(engineId)?.latest ?? null;
  }

  /** Stops following a container (it stopped running); its sample goes with it. */
  unfollow(engineId: string): void {
    this.subscriptions.get(engineId)?.abort.abort();
    this.subscriptions.delete(engineId);
  }

  /**
   * Stops following every container not in `engineIds` (they stopped running). Streams opened at or after
   * `openedBefore` are kept: they belong to containers that started after the caller listed the running ones, which a
   * list taken before their start cannot name.
   */
  retainOnly(engineIds: ReadonlySet<string>, openedBefore = Number.POSITIVE_INFINITY): void {
    for (const [engineId, subscription] of this.subscriptions) {
      if (engineIds.has(engineId) || subscription.openedAt >= openedBefore) continue;
      this.unfollow(engineId);
    }
  }

  get followed(): number {
    return this.subscriptions.size;
  }

  /** For EngineRegistry: every stream ends with its engine's connection. */
  close(): void {
    this.retainOnly(new Set());
  }

  private async open(engineId: string, subscription: Subscription): Promise<void> {
    try {
      const container = this.client.getContainer(engineId) as unknown as {
        stats(options: { stream: true; abortSignal: AbortSignal }): Promise<Readable>;
      };
      const stream = await container.stats({ stream: true, abortSignal: subscription.abort.signal });
      let buffered = '';
      stream.setEncoding('utf8');
      stream.on('data', (chunk: string) => {
        buffered += chunk;
        let newline = buffered.indexOf('\n');
        while (newline >= 0) {
          this.take(subscription, buffered.slice(0, newline));
          buffered = buffered.slice(newline + 1);
          newline = buffered.indexOf('\n');
        }
      });
      const ended = () => {
        subscription.ended = true;
      };
      stream.on('end', ended);
      stream.on('close', ended);
      stream.on('error', ended);
    } catch (error) {
      subscription.ended = true;
      if (!subscription.abort.signal.aborted) {
        this.logger.debug(`No stats stream for ${engineId}: ${error instanceof Error ? error.message : String(error)}`);
      }
    }
  }

  private take(subscription: Subscription, line: string): void {
    if (!line.trim()) return;
    try {
      const raw = JSON.parse(line) as RawStatsSample;
      // A container that stopped streams zeroed frames dated 0001-01-01: not a sample.
      if (!raw.read || raw.read.startsWith('0001-')) return;
      subscription.latest = computeResourceUsage(raw);
    } catch {
      // A torn line cannot happen with the newline framing above; anything unparsable is skipped, not fatal.
    }
  }
}
