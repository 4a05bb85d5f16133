import { EventPublisher, JobState, PoolEvent } from '@app/common';
import { JobEntity, PoolRunnerRepository, RunnerEntity } from '@app/persistence';
import { Injectable } from '@nestjs/common';
import { JobTransitions } from '../job-transitions.service';
import { RunnerPools } from './runner-pools';

/**
 * The warm path of the dispatcher: a queued job that a pool serves takes one of the pool's idle runners at once,
 * without waiting for a runner to be registered, created and brought online. A GitHub job then stays ASSIGNED until
 * GitHub reports it in progress (GitHub hands it to whichever idle runner it likes, the ledger follows); a job from
 * the API runs as soon as it has a running runner, which a pool runner already is.
 */
@Injectable()
export class PoolHandoff {
  constructor(
    private readonly pools: RunnerPools,
    private readonly poolRunners: PoolRunnerRepository,
    private readonly transitions: JobTransitions,
    private readonly events: EventPublisher,
  ) {}

  /** Hands idle pool runners to the queued jobs they serve; answers how many jobs took one. */
  async handOut(): Promise<number> {
    if (this.pools.all().length === 0) return 0;
    const handed = await this.poolRunners.handOut(
      (job, idle) => idle.find((view) => this.pools.runnerServes(view.runner, job)) ?? null,
      (view) => `warm pool ${view.runner.pool}: idle runner ${view.runner.name} on engine ${view.engineName}`,
    );
    for (const { job, runner } of handed) {
      const reason = `handed idle runner ${runner.name} of pool ${runner.pool}`;
      this.transitions.announce(job, JobState.Queued, reason);
      this.publish(PoolEvent.Hit, runner.pool!, job.id, reason, runner);
      if (!job.githubJobId) {
        await this.transitions.move(job.id, {
          to: JobState.Running,
          from: [JobState.Assigned],
          changes: { startedAt: new Date() },
          reason: `runner ${runner.name} of pool ${runner.pool} runs`,
        });
      }
    }
    return handed.length;
  }

  /**
   * GitHub started a job on an idle pool runner before the dispatcher handed it one (GitHub hands a queued job to any
   * idle runner at once): a hit all the same, the pool served it.
   */
  noteTakenBy(job: JobEntity, runner: RunnerEntity): void {
    const reason = `GitHub gave it idle runner ${runner.name} of pool ${runner.pool} before a hand-out`;
    this.publish(PoolEvent.Hit, runner.pool!, job.id, reason, runner);
  }

  /** A job a pool serves was claimed for a runner of its own: the pool had none idle. */
  noteMiss(job: JobEntity): void {
    const [pool] = this.pools.covering(job);
    if (pool) this.publish(PoolEvent.Miss, pool.name, job.id, `pool ${pool.name} had no idle runner`, null);
  }

  private publish(
    name: (typeof PoolEvent)['Hit' | 'Miss'],
    pool: string,
    jobId: string,
    reason: string,
    runner: { id: string; name: string; containerId: string | null } | null,
  ): void {
    this.events.publish(name, {
      pool,
      runnerId: runner?.id ?? null,
      runnerName: runner?.name ?? null,
      containerId: runner?.containerId ?? null,
      jobId,
      reason,
      at: new Date().toISOString(),
    });
  }
}
