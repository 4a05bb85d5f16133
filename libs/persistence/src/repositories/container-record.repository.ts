import { AppConfig, ContainerState, DEFAULT_ENGINE_NAME, DomainError, ErrorCode, PlacementMode } from '@app/common';
import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager, In, Repository } from 'typeorm';
import { ContainerRecordEntity, ContainerTransitionEntity, JobEntity } from '../entities';
import {
  chooseEngine,
  countEngineLoads,
  PlacementNeed,
  placementEngines,
  runnerPlacementNeed,
  WaitingCause,
} from '../placement';
import { TransactionRunner } from '../transaction-runner';
import { EntityRowReader } from './entity-row.reader';
import { holdsJobSlot, LIVE_CONTAINER_STATES, lockSlots, requireFreeSlot } from './runner-slots';

/**
 * A record to write. `engineName` and `placement` are for a container of a queued job, placed at the job's claim
 * (left out, the job's own are taken); a container of no job is placed by InsertOptions.placement instead.
 */
export type NewContainerRecord = Pick<
  ContainerRecordEntity,
  'id' | 'name' | 'runnerId' | 'jobId' | 'repository' | 'spec' | 'limits' | 'security'
> & { state?: ContainerState; engineId?: string | null; engineName?: string; placement?: string | null };

export interface TransitionAttribution {
  reason: string;
  actor: string;
  exitCode?: number | null;
}

export interface TransitionChange extends TransitionAttribution {
  to: ContainerState;
  /** Set when this step learns the engine's id (the end of CREATING). */
  engineId?: string;
  /**
   * MAX_CONCURRENT_CONTAINERS: a move that makes a container live again (a stopped one started) takes a slot, and is
   * refused with CAPACITY_EXHAUSTED when none is free. Containers of a queued job hold their job's slot instead.
   */
  maxSlots?: number;
}

/** One record's move in a batch: the record as it was read (its version guards the write) and where it goes. */
export interface RecordMove {
  record: Pick<ContainerRecordEntity, 'id' | 'version' | 'state'>;
  change: TransitionChange;
}

/** A batch's result: the records that moved, as written, and why each of the others did not. */
export interface BatchTransitionResult {
  moved: ContainerRecordEntity[];
  refused: Map<string, DomainError>;
}

/** Where a container of no queued job may go, and what it takes there. */
export interface ContainerPlacementRequest extends PlacementNeed {
  /** Engine labels it needs (lower case); every one must be on the engine, as with PlacementRequest.engineLabelsOnly. */
  labels: string[];
  /** Only this engine: NOT_FOUND when no engine has the name, CONFLICT when it is not active. */
  engineName?: string;
  mode: PlacementMode;
}

export interface InsertOptions {
  /** MAX_CONCURRENT_CONTAINERS: a record of no queued job takes a slot of its own, or is refused (CAPACITY_EXHAUSTED). */
  maxSlots?: number;
  /**
   * Places a record of no queued job on an engine with its labels and room for its limits, under the slot lock, and
   * writes the engine and the reason on it; CAPACITY_EXHAUSTED (nothing written) when none fits. Ignored for the
   * container of a queued job, which goes where its job's claim placed it.
   */
  placement?: ContainerPlacementRequest;
}

/** What an operator can do about each reason nothing fits. */
const REMEDIES: Record<WaitingCause, string> = {
  'unknown-engine': 'add the engine (DOCKER_ENGINES or POST /api/engines)',
  labels: 'add an engine with those labels (DOCKER_ENGINES or POST /api/engines), or ask for other labels',
  'not-active': 'wait for those engines to be active again, or add another engine with those labels',
  room:
    'stop or remove a container you no longer need, wait for a job to finish, or give an engine more room ' +
    '(PATCH /api/engines/:name) or add one',
};

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
  /** The API's most frequent reads, a record and a page of the list, without TypeORM's query building. */
  private readonly rows: EntityRowReader<ContainerRecordEntity>;

  constructor(
    @InjectDataSource() dataSource: DataSource,
    private readonly transactions: TransactionRunner,
    private readonly config: AppConfig,
  ) {
    this.records = dataSource.getRepository(ContainerRecordEntity);
    this.history = dataSource.getRepository(ContainerTransitionEntity);
    this.rows = new EntityRowReader(dataSource, ContainerRecordEntity);
  }

  /**
   * Writes a new record and the first row of its history together. With `maxSlots`, a record that belongs to no job
   * of the queue is counted against the limit in the same transaction, under the slot lock the dispatcher's claims
   * take, so two creations at the last free slot cannot both pass and nothing is written for the one refused. With
   * `placement`, such a record is also placed on an engine under that lock, counted against every engine's load as the
   * dispatcher counts it. A record of a queued job takes its engine from the record, else from its job.
   */
  async insert(
    record: NewContainerRecord,
    attribution: TransitionAttribution,
    options: InsertOptions = {},
  ): Promise<ContainerRecordEntity> {
    const state = record.state ?? ContainerState.Creating;
    return this.transactions.run(async (manager) => {
      const job = record.jobId !== null ? await manager.findOneBy(JobEntity, { id: record.jobId }) : null;
      let engineName = record.engineName ?? job?.engineName ?? DEFAULT_ENGINE_NAME;
      let placement = record.placement ?? job?.placement ?? null;
      if (!job && (options.maxSlots !== undefined || options.placement)) {
        await lockSlots(manager);
        if (options.maxSlots !== undefined) await requireFreeSlot(manager, options.maxSlots);
        if (options.placement) ({ engineName, placement } = await this.place(manager, options.placement));
      }
      const entity = manager.create(ContainerRecordEntity, {
        ...record,
        engineId: record.engineId ?? null,
        engineName,
        placement,
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

  /** Chooses the engine of a container of no job; call under lockSlots(). */
  private async place(
    manager: EntityManager,
    request: ContainerPlacementRequest,
  ): Promise<{ engineName: string; placement: string }> {
    const engines = await placementEngines(manager);
    if (request.engineName !== undefined) {
      const pinned = engines.find((engine) => engine.name === request.engineName);
      if (!pinned) {
        throw new DomainError(ErrorCode.NotFound, `No Docker engine is named "${request.engineName}"`, {
          engine: request.engineName,
        });
      }
      if (pinned.state !== 'active') {
        throw new DomainError(
          ErrorCode.Conflict,
          `Engine ${pinned.name} is ${pinned.state} and takes no new containers: name another engine, or none`,
          { engine: pinned.name, state: pinned.state },
        );
      }
    }
    const loads = await countEngineLoads(manager, () => runnerPlacementNeed(this.config));
    const decision = chooseEngine(engines, loads, { ...request, engineLabelsOnly: true }, request.mode);
    if ('waiting' in decision) {
      // Asking one engine for labels it lacks is a contradiction in the request, not a lack of room.
      const code =
        request.engineName !== undefined && decision.cause === 'labels'
          ? ErrorCode.Conflict
          : ErrorCode.CapacityExhausted;
      throw new DomainError(
        code,
        `No engine can take the container: ${decision.waiting}; ${REMEDIES[decision.cause]}`,
        {
          waiting: decision.waiting,
          cause: decision.cause,
        },
      );
    }
    return { engineName: decision.engineName, placement: decision.reason };
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
      if (change.maxSlots !== undefined && comesBackToLife(current.state, change.to)) {
        if (!(await holdsJobSlot(manager, current.jobId))) {
          await lockSlots(manager);
          await requireFreeSlot(manager, change.maxSlots);
        }
      }
      if (!(await this.updateVersioned(manager, current, change))) throw lostRace(id);
      await manager.insert(ContainerTransitionEntity, historyRow(current, change));
      return manager.findOneByOrFail(ContainerRecordEntity, { id });
    });
  }

  /**
   * Moves many records at once, each guarded by its own version as transition() guards one, in ONE transaction with
   * one multi-row insert of their history rows: what a cleanup scan writes for a hundred removals costs one commit,
   * not a hundred. A record changed by someone else since it was read is refused (CONFLICT) and the others still move.
   * Not for moves that take a slot (maxSlots is ignored): those go one at a time through transition().
   */
  async transitionMany(moves: RecordMove[]): Promise<BatchTransitionResult> {
    const refused = new Map<string, DomainError>();
    if (moves.length === 0) return { moved: [], refused };
    const moved = await this.transactions.run(async (manager) => {
      const written: RecordMove[] = [];
      for (const move of moves) {
        if (await this.updateVersioned(manager, move.record, move.change)) written.push(move);
        else refused.set(move.record.id, lostRace(move.record.id));
      }
      if (written.length === 0) return [];
      // In slices, so that a very large scan stays under PostgreSQL's limit of bound parameters per statement.
      for (let start = 0; start < written.length; start += HISTORY_ROWS_PER_INSERT) {
        const slice = written.slice(start, start + HISTORY_ROWS_PER_INSERT);
        await manager.insert(
          ContainerTransitionEntity,
          slice.map((move) => historyRow(move.record, move.change)),
        );
      }
      return manager.findBy(ContainerRecordEntity, { id: In(written.map((move) => move.record.id)) });
    });
    return { moved, refused };
  }

  /** The state change of one record, written only if its version is still the one read; false when it was not. */
  private async updateVersioned(
    manager: EntityManager,
    current: Pick<ContainerRecordEntity, 'id' | 'version'>,
    change: TransitionChange,
  ): Promise<boolean> {
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
      .where('id = :id AND version = :version', { id: current.id, version: current.version })
      .execute();
    return result.affected !== 0;
  }

  async findById(id: string): Promise<ContainerRecordEntity | null> {
    const [record] = await this.rows.find(`WHERE ${this.rows.column('id')} = ${this.rows.parameter(0)}`, [id]);
    return record ?? null;
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

  findByIds(ids: string[]): Promise<ContainerRecordEntity[]> {
    return ids.length === 0 ? Promise.resolve([]) : this.records.findBy({ id: In(ids) });
  }

  findByEngineId(engineId: string): Promise<ContainerRecordEntity | null> {
    return this.records.findOneBy({ engineId });
  }

  findInStates(states: ContainerState[]): Promise<ContainerRecordEntity[]> {
    return this.records.find({ where: { state: In(states) }, order: { createdAt: 'ASC' } });
  }

  /** A page of records matching every filter given, newest first (the order of the list's indexes), and their total. */
  async list(filter: ContainerRecordFilter, page: Page): Promise<{ items: ContainerRecordEntity[]; total: number }> {
    const condition = this.rows.where(filter);
    const order = `ORDER BY ${this.rows.column('createdAt')} DESC, ${this.rows.column('id')} ASC`;
    const limit = this.rows.parameter(condition.parameters.length);
    const offset = this.rows.parameter(condition.parameters.length + 1);
    const [items, total] = await Promise.all([
      this.rows.find(`${condition.sql} ${order} LIMIT ${limit} OFFSET ${offset}`, [
        ...condition.parameters,
        page.limit,
        page.offset,
      ]),
      this.rows.count(condition),
    ]);
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

  /**
   * Whether a container of a queued job ever named this runner: such a runner is RunnerHub's own, whatever the
   * runners table says, and no API caller may name it.
   */
  async isRunnerOfAJob(runnerId: string): Promise<boolean> {
    const count = await this.records
      .createQueryBuilder('container')
      .innerJoin(JobEntity, 'job', 'job.id = container.jobId')
      .where('container.runnerId = :runnerId', { runnerId })
      .getCount();
    return count > 0;
  }

  /** The record's history, oldest first. */
  transitions(containerId: string): Promise<ContainerTransitionEntity[]> {
    return this.history.find({ where: { containerId }, order: { id: 'ASC' } });
  }
}

/** Six parameters a row: far below PostgreSQL's 65,535 bound parameters per statement. */
const HISTORY_ROWS_PER_INSERT = 1_000;

function lostRace(id: string): DomainError {
  return new DomainError(ErrorCode.Conflict, `Container ${id} was changed by another request; retry`, { id });
}

/** The history row of a record's move from the state it was read in. */
function historyRow(
  from: Pick<ContainerRecordEntity, 'id' | 'state'>,
  change: TransitionChange,
): Partial<ContainerTransitionEntity> {
  return {
    containerId: from.id,
    fromState: from.state,
    toState: change.to,
    reason: change.reason,
    actor: change.actor,
    exitCode: change.exitCode ?? null,
  };
}

const LIVE: ReadonlySet<ContainerState> = new Set(LIVE_CONTAINER_STATES);

function comesBackToLife(from: ContainerState, to: ContainerState): boolean {
  return !LIVE.has(from) && LIVE.has(to);
}
