import { ContainerState, DomainError, ErrorCode } from '@app/common';
import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, In, Repository } from 'typeorm';
import { ContainerRecordEntity, ContainerTransitionEntity } from '../entities';
import { TransactionRunner } from '../transaction-runner';

export type NewContainerRecord = Pick<
  ContainerRecordEntity,
  'id' | 'name' | 'runnerId' | 'jobId' | 'repository' | 'spec' | 'limits' | 'security'
> & { state?: ContainerState; engineId?: string | null };

export interface TransitionAttribution {
  reason: string;
  actor: string;
  exitCode?: number | null;
}

export interface TransitionChange extends TransitionAttribution {
  to: ContainerState;
  /** Set when this step learns the engine's id (the end of CREATING). */
  engineId?: string;
}

export interface ContainerRecordFilter {
  state?: ContainerState | ContainerState[];
  repository?: string;
  jobId?: string;
  runnerId?: string;
}

export interface Page {
  limit: number;
  offset: number;
}

/**
 * The container records and their history: the only place that writes either. A state change and its history row
 * are written in one transaction, guarded by the record's version, so two writers can never interleave.
 */
@Injectable()
export class ContainerRecordRepository {
  private readonly records: Repository<ContainerRecordEntity>;
  private readonly history: Repository<ContainerTransitionEntity>;

  constructor(
    @InjectDataSource() dataSource: DataSource,
    private readonly transactions: TransactionRunner,
  ) {
    this.records = dataSource.getRepository(ContainerRecordEntity);
    this.history = dataSource.getRepository(ContainerTransitionEntity);
  }

  /** Writes a new record and the first row of its history together. */
  async insert(record: NewContainerRecord, attribution: TransitionAttribution): Promise<ContainerRecordEntity> {
    const state = record.state ?? ContainerState.Creating;
    return this.transactions.run(async (manager) => {
      const entity = manager.create(ContainerRecordEntity, {
        ...record,
        engineId: record.engineId ?? null,
        state,
        exitCode: attribution.exitCode ?? null,
        stateReason: attribution.reason,
        stateChangedAt: new Date(),
      });
      const saved = await manager.save(entity);
      await manager.insert(ContainerTransitionEntity, {
        containerId: saved.id,
        fromState: null,
        toState: state,
        reason: attribution.reason,
        actor: attribution.actor,
        exitCode: attribution.exitCode ?? null,
      });
      return saved;
    });
  }

  /**
   * Moves a record to a new state if nobody else has changed it since `expectedVersion` was read, and appends the
   * history row. Returns the updated record; a stale version is a Conflict for the caller to re-read and decide.
   */
  async transition(id: string, expectedVersion: number, change: TransitionChange): Promise<ContainerRecordEntity> {
    return this.transactions.run(async (manager) => {
      const current = await manager.findOneBy(ContainerRecordEntity, { id });
      if (!current) throw new DomainError(ErrorCode.NotFound, `Container ${id} does not exist`, { id });
      if (current.version !== expectedVersion) {
        throw new DomainError(
          ErrorCode.Conflict,
          `Container ${id} was changed by another request (now ${current.state}); read it again and retry`,
          { id, state: current.state, expectedVersion, actualVersion: current.version },
        );
      }
      const update: Partial<ContainerRecordEntity> = {
        state: change.to,
        stateReason: change.reason,
        stateChangedAt: new Date(),
        version: current.version + 1,
        ...(change.exitCode !== undefined ? { exitCode: change.exitCode } : {}),
        ...(change.engineId !== undefined ? { engineId: change.engineId } : {}),
      };
      const result = await manager
        .createQueryBuilder()
        .update(ContainerRecordEntity)
        .set(update)
        .where('id = :id AND version = :version', { id, version: expectedVersion })
        .execute();
      if (result.affected === 0) {
        throw new DomainError(ErrorCode.Conflict, `Container ${id} was changed by another request; retry`, { id });
      }
      await manager.insert(ContainerTransitionEntity, {
        containerId: id,
        fromState: current.state,
        toState: change.to,
        reason: change.reason,
        actor: change.actor,
        exitCode: change.exitCode ?? null,
      });
      return manager.findOneByOrFail(ContainerRecordEntity, { id });
    });
  }

  findById(id: string): Promise<ContainerRecordEntity | null> {
    return this.records.findOneBy({ id });
  }

  /**
   * Points a runner container's record at the job it really runs: GitHub may give a runner made for one job another
   * job with the same labels. The engine's `runnerhub.job` label keeps the job it was made for.
   */
  async reassignJob(id: string, jobId: string): Promise<void> {
    // The version stays: this is no transition, and must not make the lifecycle's next transition a lost race.
    await this.records
      .createQueryBuilder()
      .update(ContainerRecordEntity)
      .set({ jobId, version: () => 'version' })
      .where('id = :id', { id })
      .execute();
  }

  findByEngineId(engineId: string): Promise<ContainerRecordEntity | null> {
    return this.records.findOneBy({ engineId });
  }

  findInStates(states: ContainerState[]): Promise<ContainerRecordEntity[]> {
    return this.records.find({ where: { state: In(states) }, order: { createdAt: 'ASC' } });
  }

  async list(filter: ContainerRecordFilter, page: Page): Promise<{ items: ContainerRecordEntity[]; total: number }> {
    const { state, ...exact } = filter;
    const where = {
      ...Object.fromEntries(Object.entries(exact).filter(([, v]) => v !== undefined)),
      ...(state !== undefined ? { state: Array.isArray(state) ? In(state) : state } : {}),
    };
    const [items, total] = await this.records.findAndCount({
      where,
      order: { createdAt: 'DESC', id: 'ASC' },
      take: page.limit,
      skip: page.offset,
    });
    return { items, total };
  }

  /**
   * How many records are in each state, for the metrics: one GROUP BY, states with no record are absent. PostgreSQL
   * returns COUNT(*) as a string (bigint) and SQLite as a number, hence the conversion.
   */
  async countByState(): Promise<Record<string, number>> {
    const rows = await this.records
      .createQueryBuilder('record')
      .select('record.state', 'state')
      .addSelect('COUNT(*)', 'count')
      .groupBy('record.state')
      .getRawMany<{ state: string; count: string | number }>();
    return Object.fromEntries(rows.map((row) => [row.state, Number(row.count)]));
  }

  /** The record's history, oldest first. */
  transitions(containerId: string): Promise<ContainerTransitionEntity[]> {
    return this.history.find({ where: { containerId }, order: { id: 'ASC' } });
  }
}
