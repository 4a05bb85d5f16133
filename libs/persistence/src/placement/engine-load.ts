import { DEFAULT_ENGINE_NAME } from '@app/common';
import { EntityManager } from 'typeorm';
import { ContainerRecordEntity, EngineEntity, JobEntity } from '../entities';
import { ACTIVE_JOB_STATES, LIVE_CONTAINER_STATES } from '../repositories/runner-slots';
import { EngineLoad, PlacementEngine, PlacementNeed } from './engine-placement';

/** CPU quota period of the engine: a quota of 100000 µs per 100 ms is one CPU. */
const CPU_QUOTA_PER_CPU = 100_000;

/**
 * A database whose fleet was never started (a test of the queue alone) has no engine rows: it places everything on the
 * one engine DOCKER_HOST would be, active and unlimited, so nothing breaks.
 */
const IMPLICIT_DEFAULT_ENGINE: PlacementEngine = {
  name: DEFAULT_ENGINE_NAME,
  labels: [],
  state: 'active',
  memoryMb: null,
  cpuMillis: null,
  maxContainers: null,
  infoMemoryMb: null,
};

/** The engines placement chooses from: the `engines` table, or the implicit `default` engine when it is empty. */
export async function placementEngines(manager: EntityManager): Promise<PlacementEngine[]> {
  const engines = await manager.find(EngineEntity, { order: { name: 'ASC' } });
  return engines.length > 0 ? engines : [IMPLICIT_DEFAULT_ENGINE];
}

/**
 * What each engine carries, counted in the database: every live container record with its limits (memoryMB, and
 * cpuQuota as thousandths of a CPU), plus each active job placed on the engine whose container is not live yet, at
 * what `jobNeed` says that job's runner will take. A job's container found live (by its record's jobId or the job's
 * containerId) is counted once, as the container. Call it under lockSlots() before placing, so that no other placement
 * counts in between. Engines with nothing on them are absent from the map.
 */
export async function countEngineLoads(
  manager: EntityManager,
  jobNeed: (job: JobEntity) => PlacementNeed,
): Promise<Map<string, EngineLoad>> {
  const loads = new Map<string, EngineLoad>();
  const add = (engineName: string, memoryMb: number, cpuMillis: number) => {
    const load = loads.get(engineName) ?? { containers: 0, memoryMb: 0, cpuMillis: 0 };
    loads.set(engineName, {
      containers: load.containers + 1,
      memoryMb: load.memoryMb + memoryMb,
      cpuMillis: load.cpuMillis + cpuMillis,
    });
  };

  const live = await manager
    .createQueryBuilder(ContainerRecordEntity, 'container')
    .select(['container.id', 'container.engineName', 'container.jobId', 'container.limits'])
    .where('container.state IN (:...live)', { live: LIVE_CONTAINER_STATES })
    .getMany();
  for (const record of live) {
    const cpuQuota = record.limits.cpuQuota;
    add(
      record.engineName,
      record.limits.memoryMB ?? 0,
      cpuQuota !== undefined ? Math.round((cpuQuota * 1000) / CPU_QUOTA_PER_CPU) : 0,
    );
  }

  const liveIds = new Set(live.map((record) => record.id));
  const liveJobIds = new Set(live.flatMap((record) => (record.jobId !== null ? [record.jobId] : [])));
  const active = await manager
    .createQueryBuilder(JobEntity, 'job')
    .where('job.state IN (:...active)', { active: ACTIVE_JOB_STATES })
    .getMany();
  for (const job of active) {
    if (liveJobIds.has(job.id) || (job.containerId !== null && liveIds.has(job.containerId))) continue;
    const need = jobNeed(job);
    // A job claimed before engines were recorded runs where every container then ran.
    add(job.engineName ?? DEFAULT_ENGINE_NAME, need.memoryMb, need.cpuMillis);
  }
  return loads;
}
