import { JobState } from '@app/common';
import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager, In, Repository } from 'typeorm';
import { JobEntity } from '../entities';
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
  >
>;

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
   * Takes the oldest queued job whose back-off has passed, unless `maxActive` slots are already held (by jobs, or by
   * containers made through the API); null when there is nothing to take. The count and the claim run under the slot
   * lock that container creation takes too, so replicas and API callers together never exceed the limit.
   */
  claimNext(maxActive: number, now = new Date()): Promise<JobEntity | null> {
    return this.transactions.run(async (manager) => {
      await lockSlots(manager);
      if ((await this.countHoldingSlots(manager)) >= maxActive) return null;
      // The version guard makes a lost race visible even where row locks are not available: try the next one.
      for (let attempt = 0; attempt < 5; attempt++) {
        const next = await this.oldestQueued(manager, now);
        if (!next) return null;
        const claimed = await manager.update(
          JobEntity,
          { id: next.id, version: next.version, state: JobState.Queued },
          { state: JobState.Assigned, assignedAt: new Date(), version: next.version + 1 },
        );
        if (claimed.affected === 1) return manager.findOneByOrFail(JobEntity, { id: next.id });
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

  private oldestQueued(manager: EntityManager, now: Date): Promise<JobEntity | null> {
    const query = manager
      .createQueryBuilder(JobEntity, 'job')
      .where('job.state = :state', { state: JobState.Queued })
      .andWhere('(job.availableAt IS NULL OR job.availableAt <= :now)', { now })
      .orderBy('job.queuedAt', 'ASC')
      .addOrderBy('job.id', 'ASC')
      .limit(1);
    return (this.skipLocked ? query.setLock('pessimistic_write').setOnLocked('skip_locked') : query).getOne();
  }
}
