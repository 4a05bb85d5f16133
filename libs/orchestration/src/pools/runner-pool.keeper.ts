import {
  AppConfig,
  ContainerEvent,
  errorMessage,
  EventPublisher,
  JobEvent,
  PoolEvent,
  RunnerPoolSetting,
} from '@app/common';
import {
  DutyLeadership,
  EngineRepository,
  JobRepository,
  PoolRunnerRepository,
  PoolRunnerView,
} from '@app/persistence';
import { Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { OnEvent } from '@nestjs/event-emitter';
import { SchedulerRegistry } from '@nestjs/schedule';
import { RunnerRegistrations } from '../runner-registrations.service';
import { POOL_ACTOR, PoolRunnerFactory } from './pool-runner.factory';
import { RunnerPools } from './runner-pools';
import { RunnerContainerRemover } from '../runner-container.remover';

const KEEPER_INTERVAL = 'orchestration:runner-pools';

/** What one round decided for one pool, for the log and the tests. */
export interface PoolRound {
  pool: string;
  idle: number;
  target: number;
  started: number;
  retired: number;
}

/**
 * Keeps each warm pool at its size, on the replica that leads the `runner-pools` duty. A pool's target is `maxIdle`
 * while it is in demand (a job it serves was queued within `idleTimeoutMs`) and `minIdle` otherwise, so a pool with
 * minIdle 0 scales to zero once its jobs stop coming. Each round:
 * - starts the idle runners a pool lacks, but only in slots of MAX_CONCURRENT_CONTAINERS that no queued job needs:
 *   the queue comes first, and a pool never starves jobs of other labels;
 * - retires idle runners above the target once idle for `idleTimeoutMs` (above `maxIdle`, at once);
 * - when every slot is held and queued jobs no idle pool runner serves are waiting, retires idle pool runners to
 *   free slots for them.
 * A retirement removes the GitHub registration first, then the container: a runner GitHub has just handed a job
 * stays and runs it. Rounds run on a timer and when jobs or containers change; one at a time.
 */
@Injectable()
export class RunnerPoolKeeper implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(RunnerPoolKeeper.name);
  private running: Promise<void> | null = null;
  private again = false;
  private stopping = false;

  constructor(
    private readonly config: AppConfig,
    private readonly pools: RunnerPools,
    private readonly poolRunners: PoolRunnerRepository,
    private readonly jobs: JobRepository,
    private readonly engines: EngineRepository,
    private readonly factory: PoolRunnerFactory,
    private readonly registrations: RunnerRegistrations,
    private readonly runnerContainers: RunnerContainerRemover,
    private readonly leadership: DutyLeadership,
    private readonly scheduler: SchedulerRegistry,
    private readonly events: EventPublisher,
  ) {}

  onApplicationBootstrap(): void {
    if (this.pools.all().length === 0) return;
    this.scheduler.addInterval(
      KEEPER_INTERVAL,
      setInterval(() => this.kick(), this.config.orchestration.dispatchIntervalMs),
    );
    this.kick();
  }

  async onApplicationShutdown(): Promise<void> {
    this.stopping = true;
    if (this.scheduler.doesExist('interval', KEEPER_INTERVAL)) this.scheduler.deleteInterval(KEEPER_INTERVAL);
    // Idle runners stay: the next start (or another replica) adopts them from the database rather than make more.
    await this.running;
  }

  @OnEvent(JobEvent.Queued)
  @OnEvent(JobEvent.Assigned)
  @OnEvent(JobEvent.Completed)
  @OnEvent(JobEvent.Failed)
  @OnEvent(JobEvent.Cancelled)
  @OnEvent(ContainerEvent.Removed)
  @OnEvent(ContainerEvent.Stopped)
  kick(): void {
    if (this.stopping || this.pools.all().length === 0) return;
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = this.leadership
      .runIfLeader('runner-pools', () => this.rounds())
      .then(() => undefined)
      .catch((error: unknown) => this.logger.warn(`Keeping the warm pools failed: ${errorMessage(error)}`))
      .finally(() => {
        this.running = null;
      });
  }

  private async rounds(): Promise<void> {
    do {
      this.again = false;
      await this.round();
    } while (this.again && !this.stopping);
  }

  /** One look at every pool: what it has, what it should have, and the changes. */
  async round(now = Date.now()): Promise<PoolRound[]> {
    const views = await this.poolRunners.listLive();
    const claimable = await this.jobs.findClaimable(new Date(now));
    const demand = await this.lastDemand(now);
    const ready = views.filter((view) => view.phase === 'ready');
    // Queued jobs no idle pool runner serves need slots of their own; the pools may only take what is left.
    const needingSlots = claimable.filter(
      (job) => !ready.some((view) => this.pools.runnerServes(view.runner, job)),
    ).length;
    const held = await this.jobs.countHoldingSlots();
    let free = this.config.maxConcurrentContainers - held - needingSlots;
    const rounds: PoolRound[] = [];

    for (const pool of this.pools.all()) {
      const idle = views.filter((view) => view.runner.pool === pool.name && waitsForJob(view));
      const inDemand = (demand.get(pool.name) ?? -Infinity) >= now - pool.idleTimeoutMs;
      const target = inDemand ? pool.maxIdle : pool.minIdle;
      const surplus = idle
        .filter((view, index) => idle.length - index > pool.maxIdle || now - idleSince(view) >= pool.idleTimeoutMs)
        .slice(0, Math.max(0, idle.length - target));
      let retired = 0;
      for (const view of surplus) {
        if (await this.retire(view, `idle above the pool's target of ${target}`)) retired++;
      }
      const toStart = Math.max(0, Math.min(target - (idle.length - retired), free));
      free -= toStart;
      const started = await this.start(pool, toStart);
      rounds.push({ pool: pool.name, idle: idle.length - retired, target, started, retired });
    }

    // Runners of a pool taken out of RUNNER_POOLS: nothing keeps them any more.
    for (const view of views.filter((view) => waitsForJob(view) && !this.pools.get(view.runner.pool ?? ''))) {
      await this.retire(view, `its pool ${view.runner.pool} is no longer in RUNNER_POOLS`);
    }
    // An engine being drained (or gone silent) must empty: its idle runners leave, and the pool refills elsewhere.
    const leaving = new Set(
      (await this.engines.list()).filter((engine) => engine.state !== 'active').map((engine) => engine.name),
    );
    for (const view of views.filter((view) => waitsForJob(view) && leaving.has(view.engineName ?? ''))) {
      await this.retire(view, `its engine ${view.engineName} is no longer active`);
    }
    if (held >= this.config.maxConcurrentContainers && needingSlots > 0) {
      await this.freeSlotsFor(needingSlots, views);
    }
    return rounds;
  }

  /** Every slot is held and jobs wait that no idle pool runner serves: idle pool runners give way to them. */
  private async freeSlotsFor(waiting: number, views: PoolRunnerView[]): Promise<void> {
    const idle = views.filter(waitsForJob).reverse();
    let freed = 0;
    for (const view of idle) {
      if (freed >= waiting) break;
      if (await this.retire(view, `its slot is needed by ${waiting} queued job(s) no idle pool runner serves`)) freed++;
    }
  }

  private async start(pool: RunnerPoolSetting, count: number): Promise<number> {
    if (count <= 0) return 0;
    const made = await Promise.allSettled(Array.from({ length: count }, () => this.factory.make(pool)));
    for (const result of made) {
      if (result.status === 'rejected') {
        this.logger.warn(`An idle runner of pool ${pool.name} could not be started: ${errorMessage(result.reason)}`);
      }
    }
    return made.filter((result) => result.status === 'fulfilled').length;
  }

  /**
   * Retires an idle runner: out of the pool first (no job can be handed it any more), then off GitHub, then its
   * container. A runner GitHub handed a job in the meantime goes back and runs it.
   */
  private async retire(view: PoolRunnerView, why: string): Promise<boolean> {
    const { runner } = view;
    if (!(await this.poolRunners.withdrawFromPool(runner))) return false;
    const removal = await this.registrations.release(runner.id, `retired from pool ${runner.pool}: ${why}`);
    if (removal === 'busy' || removal === null) {
      // GitHub has handed it a job (or could not be asked): it keeps its registration, and so its container.
      await this.poolRunners.returnToPool(runner.id);
      return false;
    }
    if (runner.containerId) {
      await this.runnerContainers.remove(runner.containerId, POOL_ACTOR, `pool runner ${runner.name} retired: ${why}`);
    }
    this.events.publish(PoolEvent.RunnerRetired, {
      pool: runner.pool!,
      runnerId: runner.id,
      runnerName: runner.name,
      containerId: runner.containerId,
      jobId: null,
      reason: why,
      at: new Date().toISOString(),
    });
    return true;
  }

  /** When each pool last saw a job it serves queued (ms since the epoch); pools with none recently are absent. */
  private async lastDemand(now: number): Promise<Map<string, number>> {
    const window = Math.max(...this.pools.all().map((pool) => pool.idleTimeoutMs));
    const recent = await this.jobs.findQueuedSince(new Date(now - window));
    const demand = new Map<string, number>();
    for (const job of recent) {
      for (const pool of this.pools.covering(job)) {
        demand.set(pool.name, Math.max(demand.get(pool.name) ?? 0, job.queuedAt.getTime()));
      }
    }
    return demand;
  }
}

/** A pool runner serves one job: it has been idle since it was made. */
function idleSince(view: PoolRunnerView): number {
  return view.runner.createdAt.getTime();
}

/** Idle, and being made or running: a runner whose container ended will never take a job. */
function waitsForJob(view: PoolRunnerView): boolean {
  return view.phase === 'ready' || view.phase === 'warming';
}
