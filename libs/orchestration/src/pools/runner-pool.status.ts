import { PoolEvent, PoolRunnerPayload, RunnerPoolSetting, RunnerProfileName } from '@app/common';
import { PoolRunnerRepository, PoolRunnerView } from '@app/persistence';
import { Injectable } from '@nestjs/common';
import { OnEvent } from '@nestjs/event-emitter';
import { RunnerPools } from './runner-pools';

/** A warm pool as it stands: its definition (image and profile resolved), its runners, how often it served a job. */
export interface PoolStatus extends Omit<RunnerPoolSetting, 'image' | 'profile'> {
  image: string;
  profile: RunnerProfileName;
  runners: {
    /** Idle and running: a job it serves takes one at once. */
    ready: number;
    /** Idle, its container being made or started. */
    warming: number;
    /** Handed a job, or given one by GitHub, and not yet ended. */
    serving: number;
  };
  /** Since this replica started: jobs an idle runner served (handed, or taken from GitHub first), and jobs that found none idle. */
  hits: number;
  misses: number;
}

/**
 * What GET /api/pools and the metrics show of the warm pools. The runners are counted from the database (every
 * replica's); hits and misses are this replica's, counted from the pool events it published.
 */
@Injectable()
export class RunnerPoolStatus {
  private readonly hits = new Map<string, number>();
  private readonly misses = new Map<string, number>();

  constructor(
    private readonly pools: RunnerPools,
    private readonly poolRunners: PoolRunnerRepository,
  ) {}

  @OnEvent(PoolEvent.Hit)
  onHit(payload: PoolRunnerPayload): void {
    this.hits.set(payload.pool, (this.hits.get(payload.pool) ?? 0) + 1);
  }

  @OnEvent(PoolEvent.Miss)
  onMiss(payload: PoolRunnerPayload): void {
    this.misses.set(payload.pool, (this.misses.get(payload.pool) ?? 0) + 1);
  }

  async list(): Promise<PoolStatus[]> {
    const views = await this.poolRunners.listLive();
    return this.pools.all().map((pool) =>
      this.describe(
        pool,
        views.filter((view) => view.runner.pool === pool.name),
      ),
    );
  }

  /** The pool's status; null when no pool has that name. */
  async get(name: string): Promise<PoolStatus | null> {
    return (await this.list()).find((pool) => pool.name === name) ?? null;
  }

  private describe(pool: RunnerPoolSetting, views: PoolRunnerView[]): PoolStatus {
    const count = (phase: PoolRunnerView['phase']) => views.filter((view) => view.phase === phase).length;
    return {
      ...pool,
      labels: [...pool.labels],
      image: this.pools.imageOf(pool),
      profile: this.pools.profileOf(pool),
      runners: { ready: count('ready'), warming: count('warming'), serving: count('serving') },
      hits: this.hits.get(pool.name) ?? 0,
      misses: this.misses.get(pool.name) ?? 0,
    };
  }
}
