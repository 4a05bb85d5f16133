import { EngineEntity, EngineRepository } from '@app/persistence';
import { Injectable } from '@nestjs/common';
import { EngineLoad, EngineOccupancy, NO_LOAD } from './engine-occupancy';

/** An engine with what sits on it now. */
export interface EngineStatus {
  engine: EngineEntity;
  load: EngineLoad;
}

/** The fleet as the API shows it: each engine of the table with its load counted from the records. */
@Injectable()
export class FleetOverview {
  constructor(
    private readonly repository: EngineRepository,
    private readonly occupancy: EngineOccupancy,
  ) {}

  async list(): Promise<EngineStatus[]> {
    const [engines, loads] = await Promise.all([this.repository.list(), this.occupancy.loads()]);
    return engines.map((engine) => ({ engine, load: loads.get(engine.name) ?? { ...NO_LOAD } }));
  }

  /** The engine, or NOT_FOUND naming it. */
  async get(name: string): Promise<EngineStatus> {
    const engine = await this.repository.get(name);
    return { engine, load: await this.occupancy.loadOf(name) };
  }

  /** The engine as it is now, with its load: what the API answers after a change. */
  async status(engine: EngineEntity): Promise<EngineStatus> {
    return { engine, load: await this.occupancy.loadOf(engine.name) };
  }
}
