import { DomainError, ErrorCode, JobState } from '@app/common';
import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager, Repository } from 'typeorm';
import { JobEntity } from '../entities';
import { TransactionRunner } from '../transaction-runner';
import { Page } from './container-record.repository';

export type NewJob = Pick<JobEntity, 'id' | 'repository' | 'labels'> &
  Partial<Pick<JobEntity, 'image' | 'githubJobId' | 'githubRunId'>>;

export type JobChanges = Partial<
  Pick<
    JobEntity,
    'state' | 'runnerId' | 'containerId' | 'failureReason' | 'attempts' | 'assignedAt' | 'startedAt' | 'finishedAt'
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

  enqueue(job: NewJob): Promise<JobEntity> {
    return this.jobs.save(
      this.jobs.create({
        image: null,
        githubJobId: null,
        githubRunId: null,
        ...job,
        state: JobState.Queued,
        queuedAt: new Date(),
        runnerId: null,
        containerId: null,
        failureReason: null,
        attempts: 0,
        assignedAt: null,
        startedAt: null,
        finishedAt: null,
      }),
    );
  }

  /** Takes the oldest queued job for this replica, or null when none is free. */
  claimNext(): Promise<JobEntity | null> {
    return this.transactions.run(async (manager) => {
      // The version guard makes a lost race visible even where row locks are not available: try the next one.
      for (let attempt = 0; attempt < 5; attempt++) {
        const next = await this.oldestQueued(manager);
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
  async update(id: string, expectedVersion: number, changes: JobChanges): Promise<JobEntity> {
    const result = await this.jobs.update(
      { id, version: expectedVersion },
      { ...changes, version: expectedVersion + 1 },
    );
    if (result.affected === 0) {
      const current = await this.jobs.findOneBy({ id });
      if (!current) throw new DomainError(ErrorCode.NotFound, `Job ${id} does not exist`, { id });
      throw new DomainError(ErrorCode.Conflict, `Job ${id} was changed by another request (now ${current.state})`, {
        id,
        state: current.state,
      });
    }
    return this.jobs.findOneByOrFail({ id });
  }

  findById(id: string): Promise<JobEntity | null> {
    return this.jobs.findOneBy({ id });
  }

  findByGithubJobId(githubJobId: string): Promise<JobEntity | null> {
    return this.jobs.findOneBy({ githubJobId });
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

  private oldestQueued(manager: EntityManager): Promise<JobEntity | null> {
    const query = manager
      .createQueryBuilder(JobEntity, 'job')
      .where('job.state = :state', { state: JobState.Queued })
      .orderBy('job.queuedAt', 'ASC')
      .addOrderBy('job.id', 'ASC')
      .limit(1);
    return (this.skipLocked ? query.setLock('pessimistic_write').setOnLocked('skip_locked') : query).getOne();
  }
}
