import { ContainerState, JobState } from '@app/common';
import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager, In, IsNull, Not } from 'typeorm';
import { ContainerRecordEntity, JobEntity, RunnerEntity, RunnerStatus } from '../entities';
import { TransactionRunner } from '../transaction-runner';
import { JobRepository } from './job.repository';
import { ACTIVE_JOB_STATES, lockSlots } from './runner-slots';

/** A runner of a warm pool as the pool keeper sees it. */
export interface PoolRunnerView {
  runner: RunnerEntity;
  /** Its container's state; null while the container is being made. */
  containerState: ContainerState | null;
  engineName: string | null;
  /**
   * Whether it still waits for a job: never handed one (its `jobId`), never given one by GitHub (its `githubJobId`),
   * and no unfinished job points at it. A pool runner serves one job and is never idle again.
   */
  idle: boolean;
  /**
   * Where it is: `ready` (idle, its container running: a job takes it at once), `warming` (idle, its container being
   * made or started), `serving` (no longer idle, not ended), `ended` (idle, but its container stopped: it never will).
   */
  phase: PoolRunnerPhase;
}

export type PoolRunnerPhase = 'ready' | 'warming' | 'serving' | 'ended';

/** Container states of a runner still on its way up. */
const WARMING: ReadonlySet<ContainerState> = new Set([
  ContainerState.Creating,
  ContainerState.Created,
  ContainerState.Starting,
]);

function phaseOf(idle: boolean, containerState: ContainerState | null): PoolRunnerPhase {
  if (!idle) return 'serving';
  if (containerState === ContainerState.Running) return 'ready';
  return containerState === null || WARMING.has(containerState) ? 'warming' : 'ended';
}

/** A queued job that took an idle pool runner. */
export interface PoolHandout {
  job: JobEntity;
  runner: RunnerEntity;
}

/**
 * The runners of the warm pools, and the hand-out of idle ones to queued jobs. A hand-out takes no new slot of
 * MAX_CONCURRENT_CONTAINERS (the pool runner's container already holds one, which becomes the job's), so it runs
 * under the same slot lock as the dispatcher's claims: a job is either claimed or handed a runner, never both, and no
 * two jobs are handed the same runner by two replicas.
 */
@Injectable()
export class PoolRunnerRepository {
  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly transactions: TransactionRunner,
    private readonly jobs: JobRepository,
  ) {}

  /** Every pool runner that may still run a job or wait for one: registered, not offline. */
  async listLive(manager: EntityManager = this.dataSource.manager): Promise<PoolRunnerView[]> {
    const runners = await manager.find(RunnerEntity, {
      where: { pool: Not(IsNull()), deregisteredAt: IsNull(), status: Not(RunnerStatus.Offline) },
      order: { createdAt: 'ASC' },
    });
    if (runners.length === 0) return [];
    const ids = runners.map((runner) => runner.id);
    const containerIds = runners.flatMap((runner) => (runner.containerId ? [runner.containerId] : []));
    const containers = containerIds.length
      ? await manager.find(ContainerRecordEntity, {
          select: { id: true, state: true, engineName: true },
          where: { id: In(containerIds) },
        })
      : [];
    const pointedAt = await manager.find(JobEntity, {
      select: { id: true, runnerId: true },
      where: { runnerId: In(ids), state: In([JobState.Queued, ...ACTIVE_JOB_STATES]) },
    });
    const byId = new Map(containers.map((container) => [container.id, container]));
    const taken = new Set(pointedAt.map((job) => job.runnerId));
    return runners.map((runner) => {
      const container = runner.containerId ? byId.get(runner.containerId) : undefined;
      const idle = runner.jobId === null && runner.githubJobId === null && !taken.has(runner.id);
      const containerState = container?.state ?? null;
      return {
        runner,
        containerState,
        engineName: container?.engineName ?? null,
        idle,
        phase: phaseOf(idle, containerState),
      };
    });
  }

  /**
   * Hands idle pool runners whose containers run to the oldest claimable queued jobs, as `choose` matches them (null:
   * no runner for this job). Each job moves QUEUED -> ASSIGNED with the runner, its container and its engine, all in
   * one transaction; the caller announces the moves once it is committed.
   */
  handOut(
    choose: (job: JobEntity, idle: PoolRunnerView[]) => PoolRunnerView | null,
    placementOf: (view: PoolRunnerView) => string,
    now = new Date(),
  ): Promise<PoolHandout[]> {
    return this.transactions.run(async (manager) => {
      await lockSlots(manager);
      const queued = await this.jobs.queuedWindow(manager, now);
      if (queued.length === 0) return [];
      const idle = (await this.listLive(manager)).filter((view) => view.phase === 'ready');
      const handed: PoolHandout[] = [];
      for (const job of queued) {
        if (idle.length === 0) break;
        const view = choose(job, idle);
        if (!view) continue;
        idle.splice(idle.indexOf(view), 1);
        const taken = await manager.update(
          RunnerEntity,
          { id: view.runner.id, version: view.runner.version, jobId: IsNull(), githubJobId: IsNull() },
          { jobId: job.id, status: RunnerStatus.Busy, version: view.runner.version + 1 },
        );
        // GitHub gave the runner a job meanwhile (the ledger marked it): it is no longer idle.
        if (taken.affected !== 1) continue;
        const assigned = await manager.update(
          JobEntity,
          { id: job.id, version: job.version, state: JobState.Queued },
          {
            state: JobState.Assigned,
            assignedAt: now,
            runnerId: view.runner.id,
            containerId: view.runner.containerId,
            engineName: view.engineName ?? job.engineName,
            placement: placementOf(view),
            waitingReason: null,
            version: job.version + 1,
          },
        );
        if (assigned.affected !== 1) {
          // The job moved on meanwhile (cancelled, or GitHub settled it): the runner stays the pool's.
          await manager.update(
            RunnerEntity,
            { id: view.runner.id },
            { jobId: null, status: RunnerStatus.Idle, version: view.runner.version + 2 },
          );
          continue;
        }
        // The pool runner's container now holds the job's slot: counted through the job, not on its own.
        await manager.update(ContainerRecordEntity, { id: view.runner.containerId! }, { jobId: job.id });
        handed.push({
          job: await manager.findOneByOrFail(JobEntity, { id: job.id }),
          runner: await manager.findOneByOrFail(RunnerEntity, { id: view.runner.id }),
        });
      }
      return handed;
    });
  }

  /**
   * Takes an idle pool runner out of the pool before it is retired, so that no job is handed it meanwhile; false when
   * it is no longer idle (handed a job, or given one by GitHub).
   */
  async withdrawFromPool(runner: RunnerEntity): Promise<boolean> {
    const result = await this.dataSource.manager.update(
      RunnerEntity,
      { id: runner.id, version: runner.version, jobId: IsNull(), githubJobId: IsNull() },
      { status: RunnerStatus.Offline, version: runner.version + 1 },
    );
    return result.affected === 1;
  }

  /** Puts a runner withdrawn for retirement back: GitHub handed it a job as it was being retired. */
  async returnToPool(runnerId: string): Promise<void> {
    await this.dataSource.manager
      .createQueryBuilder()
      .update(RunnerEntity)
      .set({ status: RunnerStatus.Idle, version: () => 'version + 1' })
      .where('id = :id AND status = :offline AND "deregisteredAt" IS NULL', {
        id: runnerId,
        offline: RunnerStatus.Offline,
      })
      .execute();
  }

  /**
   * Gives a pool runner that was handed a job back to its pool, when GitHub ran that job on another runner and gave
   * this one nothing: it still waits online, so it is idle again rather than withdrawn. False when GitHub has given
   * it a job meanwhile, or it is no longer registered.
   */
  giveBack(runner: RunnerEntity): Promise<boolean> {
    return this.transactions.run(async (manager) => {
      const result = await manager.update(
        RunnerEntity,
        { id: runner.id, version: runner.version, githubJobId: IsNull(), deregisteredAt: IsNull() },
        { jobId: null, status: RunnerStatus.Idle, version: runner.version + 1 },
      );
      if (result.affected !== 1) return false;
      if (runner.containerId) await manager.update(ContainerRecordEntity, { id: runner.containerId }, { jobId: null });
      return true;
    });
  }
}
