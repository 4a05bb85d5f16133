import { JobState, PlacementMode } from '@app/common';
import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager, In, Repository } from 'typeorm';
import { JobEntity } from '../entities';
import { chooseEngine, countEngineLoads, PlacementNeed, placementEngines } from '../placement';
import { TransactionRunner } from '../transaction-runner';
import { updateVersioned } from './versioned-update';
import { Page } from './container-record.repository';
import { ACTIVE_JOB_STATES, countSlotsHeld, lockSlots } from './runner-slots';

export { ACTIVE_JOB_STATES } from './runner-slots';

export type NewJob = Pick<JobEntity, 'id' | 'repository' | 'labels'> &
  Partial<Pick<JobEntity, 'image' | 'githubJobId' | 'githubRunId'>>;

export type JobChanges = Partial<
  Pick<
    JobEntity,
    | 'state'
    | 'runnerId'
    | 'containerId'
    | 'failureReason'
    | 'failureCode'
    | 'conclusion'
    | 'profile'
    | 'profileReason'
    | 'imageDigest'
    | 'githubRunnerName'
    | 'refreshImage'
    | 'attempts'
    | 'availableAt'
    | 'assignedAt'
    | 'startedAt'
    | 'finishedAt'
    | 'engineName'
    | 'placement'
    | 'waitingReason'
  >
>;

/** How the dispatcher places the job it claims: the mode, and what each job's runner will take on its engine. */
export interface JobPlacement {
  mode: PlacementMode;
  need: (job: JobEntity) => PlacementNeed;
}

/**
 * Queued jobs looked at in one claim, oldest first: enough that a few jobs no engine can take (a label nobody has)
 * do not hold up the rest of the queue, few enough that one claim stays a short transaction.
 */
const CLAIM_WINDOW = 50;

/**
 * The job queue. Jobs are taken in the order they were queued; a claim moves one job from QUEUED to ASSIGNED in one
 * transaction, and on PostgreSQL skips rows another replica holds (FOR UPDATE SKIP LOCKED), so no two replicas ever
 * take the same job. On SQLite there is one writer, and TransactionRunner already queues the claims.
 */
@Injectable()
export class JobRepository {
  private readonly jobs: Repository<JobEntity>;
  private readonly skipLocked: boolean;

  constructor(
    @InjectDataSource() dataSource: DataSource,
    private readonly transactions: TransactionRunner,
  ) {
    this.jobs = dataSource.getRepository(JobEntity);
    this.skipLocked = dataSource.options.type === 'postgres';
  }

  /** Queues a job; pass the manager of an open transaction to queue it as part of that unit of work. */
  enqueue(job: NewJob, manager?: EntityManager): Promise<JobEntity> {
    const jobs = manager ? manager.getRepository(JobEntity) : this.jobs;
    return jobs.save(
      jobs.create({
        image: null,
        githubJobId: null,
        githubRunId: null,
        ...job,
        state: JobState.Queued,
        queuedAt: new Date(),
        runnerId: null,
        containerId: null,
        failureReason: null,
        failureCode: null,
        conclusion: null,
        profile: null,
        profileReason: null,
        imageDigest: null,
        githubRunnerName: null,
        refreshImage: false,
        availableAt: null,
        attempts: 0,
        assignedAt: null,
        startedAt: null,
        finishedAt: null,
      }),
    );
  }

  /**
   * Takes the oldest queued job whose back-off has passed and that some engine can take, and places it there
   * (engineName, and the reason in `placement`), unless `maxActive` slots are already held (by jobs, or by containers
   * made through the API); null when there is nothing to take. The count, the engines' loads and the claim run in one
   * transaction under the slot lock that container creation takes too, so replicas and API callers together never
   * exceed the limit nor overbook an engine. Jobs passed over because no engine fits are given the reason in
   * `waitingReason` (written only when it changed, so a quiet queue writes nothing); the claimed job's is cleared.
   */
  claimNext(maxActive: number, placement: JobPlacement, now = new Date()): Promise<JobEntity | null> {
    return this.transactions.run(async (manager) => {
      await lockSlots(manager);
      if ((await this.countHoldingSlots(manager)) >= maxActive) return null;
      const window = await this.queuedWindow(manager, now);
      if (window.length === 0) return null;
      const engines = await placementEngines(manager);
      const loads = await countEngineLoads(manager, placement.need);
      for (const job of window) {
        const decision = chooseEngine(engines, loads, { labels: job.labels, ...placement.need(job) }, placement.mode);
        if ('waiting' in decision) {
          if (job.waitingReason !== decision.waiting) await this.noteWaiting(manager, job.id, decision.waiting);
          continue;
        }
        // The version guard makes a lost race visible even where row locks are not available: try the next one.
        const claimed = await manager.update(
          JobEntity,
          { id: job.id, version: job.version, state: JobState.Queued },
          {
            state: JobState.Assigned,
            assignedAt: new Date(),
            engineName: decision.engineName,
            placement: decision.reason,
            waitingReason: null,
            version: job.version + 1,
          },
        );
        if (claimed.affected === 1) return manager.findOneByOrFail(JobEntity, { id: job.id });
      }
      return null;
    });
  }

  /** Applies changes if nobody changed the job since `expectedVersion`; CONFLICT otherwise. */
  update(id: string, expectedVersion: number, changes: JobChanges): Promise<JobEntity> {
    return updateVersioned(this.jobs, 'Job', id, expectedVersion, changes, (current) => ` (now ${current.state})`);
  }

  findById(id: string): Promise<JobEntity | null> {
    return this.jobs.findOneBy({ id });
  }

  findByGithubJobId(githubJobId: string, manager?: EntityManager): Promise<JobEntity | null> {
    return (manager ?? this.jobs.manager).findOneBy(JobEntity, { githubJobId });
  }

  /** The unfinished jobs whose runner is this one (one, unless something went wrong). */
  findActiveByRunnerId(runnerId: string): Promise<JobEntity[]> {
    return this.jobs.findBy({ runnerId, state: In([JobState.Queued, ...ACTIVE_JOB_STATES]) });
  }

  findByIds(ids: string[]): Promise<JobEntity[]> {
    return ids.length === 0 ? Promise.resolve([]) : this.jobs.findBy({ id: In(ids) });
  }

  findInStates(states: JobState[]): Promise<JobEntity[]> {
    return this.jobs
      .createQueryBuilder('job')
      .where('job.state IN (:...states)', { states })
      .orderBy('job.queuedAt', 'ASC')
      .getMany();
  }

  /**
   * Slots held: active jobs, finished ones whose container has not yet let go of the engine, and live containers
   * that belong to no job (made through the API). The same count the dispatcher and container creation obey.
   */
  countHoldingSlots(manager: EntityManager = this.jobs.manager): Promise<number> {
    return countSlotsHeld(manager);
  }

  /** The earliest back-off still pending, so the dispatcher can wake exactly then. */
  async nextAvailableAt(): Promise<Date | null> {
    const next = await this.jobs
      .createQueryBuilder('job')
      .where('job.state = :state', { state: JobState.Queued })
      .andWhere('job.availableAt IS NOT NULL')
      .orderBy('job.availableAt', 'ASC')
      .getOne();
    return next?.availableAt ?? null;
  }

  async list(filter: { state?: JobState; repository?: string }, page: Page) {
    const where = Object.fromEntries(Object.entries(filter).filter(([, v]) => v !== undefined));
    const [items, total] = await this.jobs.findAndCount({
      where,
      order: { queuedAt: 'DESC', id: 'ASC' },
      take: page.limit,
      skip: page.offset,
    });
    return { items, total };
  }

  countInStates(states: JobState[]): Promise<number> {
    return this.jobs.createQueryBuilder('job').where('job.state IN (:...states)', { states }).getCount();
  }

  /**
   * How many jobs are in each state, for the metrics: one GROUP BY, states with no job are absent. PostgreSQL returns
   * COUNT(*) as a string (bigint) and SQLite as a number, hence the conversion.
   */
  async countByState(): Promise<Record<string, number>> {
    const rows = await this.jobs
      .createQueryBuilder('job')
      .select('job.state', 'state')
      .addSelect('COUNT(*)', 'count')
      .groupBy('job.state')
      .getRawMany<{ state: string; count: string | number }>();
    return Object.fromEntries(rows.map((row) => [row.state, Number(row.count)]));
  }

  /** The oldest queued jobs whose back-off has passed, without locking them: what the queue asks for next. */
  findClaimable(now = new Date()): Promise<JobEntity[]> {
    return this.claimableQuery(this.jobs.manager, now).getMany();
  }

  /** Jobs queued since `since` (whatever became of them), newest first: the demand the warm pools look at. */
  findQueuedSince(since: Date, limit = 500): Promise<JobEntity[]> {
    return this.jobs
      .createQueryBuilder('job')
      .where('job.queuedAt >= :since', { since })
      .orderBy('job.queuedAt', 'DESC')
      .limit(limit)
      .getMany();
  }

  /** The oldest queued jobs whose back-off has passed; on PostgreSQL rows another transaction holds are skipped. */
  queuedWindow(manager: EntityManager, now: Date): Promise<JobEntity[]> {
    const query = this.claimableQuery(manager, now);
    return (this.skipLocked ? query.setLock('pessimistic_write').setOnLocked('skip_locked') : query).getMany();
  }

  private claimableQuery(manager: EntityManager, now: Date) {
    return manager
      .createQueryBuilder(JobEntity, 'job')
      .where('job.state = :state', { state: JobState.Queued })
      .andWhere('(job.availableAt IS NULL OR job.availableAt <= :now)', { now })
      .orderBy('job.queuedAt', 'ASC')
      .addOrderBy('job.id', 'ASC')
      .limit(CLAIM_WINDOW);
  }

  /** Why a queued job still waits. Not a change of the job: its version stays, so no writer of the job loses a race. */
  private async noteWaiting(manager: EntityManager, id: string, waitingReason: string): Promise<void> {
    await manager
      .createQueryBuilder()
      .update(JobEntity)
      .set({ waitingReason, version: () => 'version' })
      .where('id = :id AND state = :state', { id, state: JobState.Queued })
      .execute();
  }
}
