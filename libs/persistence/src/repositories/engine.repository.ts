import { DomainError, ErrorCode } from '@app/common';
import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, Repository } from 'typeorm';
import { EngineEntity, EngineSource, EngineState } from '../entities';

/** An engine as configured or posted: where it is and what it may hold. */
export type EngineDefinition = Pick<
  EngineEntity,
  'name' | 'endpoint' | 'tlsCertPath' | 'labels' | 'network' | 'memoryMb' | 'cpuMillis' | 'maxContainers'
>;

export type EngineChanges = Partial<
  Pick<EngineEntity, 'labels' | 'memoryMb' | 'cpuMillis' | 'maxContainers' | 'state' | 'stateReason'>
>;

/**
 * The `engines` table: the fleet every replica places containers on. Configured engines are written at each start
 * (their definition from the configuration, their state kept); engines added through the API live here only.
 */
@Injectable()
export class EngineRepository {
  private readonly engines: Repository<EngineEntity>;

  constructor(@InjectDataSource() dataSource: DataSource) {
    this.engines = dataSource.getRepository(EngineEntity);
  }

  list(): Promise<EngineEntity[]> {
    return this.engines.find({ order: { createdAt: 'ASC', name: 'ASC' } });
  }

  findByName(name: string): Promise<EngineEntity | null> {
    return this.engines.findOneBy({ name });
  }

  /** The engine, or NOT_FOUND naming it. */
  async get(name: string): Promise<EngineEntity> {
    const engine = await this.findByName(name);
    if (engine) return engine;
    throw new DomainError(ErrorCode.NotFound, `No Docker engine is named "${name}"`, { engine: name });
  }

  /**
   * Writes a configured engine: a new one starts `active`; a known one takes the configuration's definition and keeps
   * its state (a drain survives a restart). Replicas starting together may both write it: the last write wins, with
   * the same values.
   */
  async upsertConfigured(definition: EngineDefinition): Promise<EngineEntity> {
    const existing = await this.findByName(definition.name);
    if (!existing) return this.insert(definition, 'config').catch(() => this.get(definition.name));
    await this.engines.update(
      { name: definition.name },
      { ...definition, source: 'config', version: existing.version + 1 },
    );
    return this.get(definition.name);
  }

  /** A new engine; CONFLICT when the name is taken. */
  async insert(definition: EngineDefinition, source: EngineSource): Promise<EngineEntity> {
    if (await this.findByName(definition.name)) {
      throw new DomainError(ErrorCode.Conflict, `An engine named "${definition.name}" already exists`, {
        engine: definition.name,
      });
    }
    const now = new Date();
    await this.engines.insert({
      ...definition,
      state: 'active',
      stateReason: null,
      stateChangedAt: now,
      source,
      lastSeenAt: null,
      infoMemoryMb: null,
      infoCpuMillis: null,
      version: 1,
    });
    return this.get(definition.name);
  }

  /** Applies changes if nobody changed the engine since `expectedVersion`; CONFLICT otherwise. */
  async update(name: string, expectedVersion: number, changes: EngineChanges): Promise<EngineEntity> {
    const stateChange = changes.state !== undefined ? { stateChangedAt: new Date() } : {};
    const result = await this.engines.update(
      { name, version: expectedVersion },
      { ...changes, ...stateChange, version: expectedVersion + 1 },
    );
    if (result.affected === 0) {
      const current = await this.get(name);
      throw new DomainError(
        ErrorCode.Conflict,
        `Engine ${name} was changed by another request (now ${current.state})`,
        {
          engine: name,
          state: current.state,
        },
      );
    }
    return this.get(name);
  }

  /** A ping's outcome: when it last answered and what its `info` said. Not versioned: only the prober writes these. */
  async recordSeen(name: string, seenAt: Date, info: { memoryMb: number; cpuMillis: number } | null): Promise<void> {
    await this.engines.update(
      { name },
      {
        lastSeenAt: seenAt,
        ...(info ? { infoMemoryMb: info.memoryMb, infoCpuMillis: info.cpuMillis } : {}),
        // Left as it is: TypeORM bumps a version column on every update, and a probe every few seconds would make
        // every versioned change of the engine (a drain, a PATCH) lose its race.
        version: () => 'version',
      },
    );
  }

  /** Moves the engine to `state` unless it is already there; returns whether it moved. */
  async moveState(name: string, from: EngineState[], to: EngineState, reason: string): Promise<boolean> {
    const result = await this.engines
      .createQueryBuilder()
      .update(EngineEntity)
      .set({ state: to, stateReason: reason, stateChangedAt: new Date(), version: () => 'version + 1' })
      .where('name = :name AND state IN (:...from)', { name, from })
      .execute();
    return (result.affected ?? 0) > 0;
  }

  async remove(name: string): Promise<void> {
    await this.engines.delete({ name });
  }
}
