import { AppConfig, JobState, LIVE_STATES } from '@app/common';
import {
  ContainerRecordEntity,
  countEngineLoads,
  EngineLoad,
  JobEntity,
  runnerPlacementNeed,
  TransactionRunner,
} from '@app/persistence';
import { Injectable } from '@nestjs/common';
import { In } from 'typeorm';

export type { EngineLoad } from '@app/persistence';

/** Jobs placed on an engine that hold (or are about to hold) a runner there. */
const PLACED_JOB_STATES: JobState[] = [JobState.Assigned, JobState.Running];

export const NO_LOAD: Readonly<EngineLoad> = { containers: 0, memoryMb: 0, cpuMillis: 0 };

/**
 * What each engine holds, read from the records: for the API, counted exactly as placement counts it (live containers
 * with their limits, and each placed job without a live container yet at what its runner will take); and whether a
 * draining engine is empty. A repository method in all but name, kept here so that libs/persistence's repositories
 * stay as they are.
 */
@Injectable()
export class EngineOccupancy {
  constructor(
    private readonly transactions: TransactionRunner,
    private readonly config: AppConfig,
  ) {}

  /** The load of every engine that holds something; an engine not in the map holds nothing. */
  loads(): Promise<Map<string, EngineLoad>> {
    // Through the runner, like every read here: on SQLite, whose one connection every caller shares, a read outside
    // it could see another request's transaction half-way.
    return this.transactions.run((manager) => countEngineLoads(manager, () => runnerPlacementNeed(this.config)));
  }

  async loadOf(engineName: string): Promise<EngineLoad> {
    return (await this.loads()).get(engineName) ?? { ...NO_LOAD };
  }

  /** Whether nothing is on the engine: no live container and no assigned or running job placed there. */
  isEmpty(engineName: string): Promise<boolean> {
    return this.transactions.run(async (manager) => {
      const containers = await manager.existsBy(ContainerRecordEntity, { engineName, state: In([...LIVE_STATES]) });
      return !containers && !(await manager.existsBy(JobEntity, { engineName, state: In(PLACED_JOB_STATES) }));
    });
  }
}
