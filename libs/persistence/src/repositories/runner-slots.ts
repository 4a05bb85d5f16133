import { ContainerState, DomainError, ErrorCode, JobState } from '@app/common';
import { EntityManager } from 'typeorm';
import { ContainerRecordEntity, JobEntity } from '../entities';

/** Jobs that hold a slot: they have, or are about to have, a live runner container. */
export const ACTIVE_JOB_STATES = [JobState.Assigned, JobState.Running];

/** Container states in which a container still occupies the engine. */
export const LIVE_CONTAINER_STATES = [
  ContainerState.Creating,
  ContainerState.Created,
  ContainerState.Starting,
  ContainerState.Running,
  ContainerState.Stopping,
];

/** Any constant shared by all replicas: the key of the advisory lock that makes "count, then take a slot" atomic. */
const SLOT_LOCK_KEY = 0x52554e4e; // "RUNN"

/**
 * Serialises every "count the slots, then take one" against every other, across replicas: the job dispatcher's
 * claims and the creation of containers that hold no job take the same lock, so together they never pass
 * MAX_CONCURRENT_CONTAINERS. On PostgreSQL it is a transaction-scoped advisory lock (released at commit, after the
 * taken slot is visible to the next holder); SQLite has a single writer and TransactionRunner already queues every
 * transaction of the process, so there is nothing to take.
 */
export async function lockSlots(manager: EntityManager): Promise<void> {
  if (manager.connection.options.type === 'postgres') {
    await manager.query('SELECT pg_advisory_xact_lock($1)', [SLOT_LOCK_KEY]);
  }
}

/**
 * Slots held right now, whoever holds them: jobs (active ones, and finished ones whose container has not yet let go
 * of the engine), plus live containers that belong to no job of the queue (those made through POST /api/containers).
 * A job's container is counted through its job, never twice; a runner's Docker daemon has no record of its own and
 * is part of its runner's slot.
 */
export async function countSlotsHeld(manager: EntityManager): Promise<number> {
  const byJobs = await manager
    .createQueryBuilder(JobEntity, 'job')
    .leftJoin(ContainerRecordEntity, 'container', 'container.id = job.containerId')
    .where('job.state IN (:...active)', { active: ACTIVE_JOB_STATES })
    .orWhere('container.state IN (:...live)', { live: LIVE_CONTAINER_STATES })
    .getCount();
  return byJobs + (await countLiveWithoutJob(manager));
}

/** Live containers whose jobId names no job of the queue (null, or a caller's own tag). */
function countLiveWithoutJob(manager: EntityManager): Promise<number> {
  return manager
    .createQueryBuilder(ContainerRecordEntity, 'container')
    .leftJoin(JobEntity, 'job', 'job.id = container.jobId')
    .where('container.state IN (:...live)', { live: LIVE_CONTAINER_STATES })
    .andWhere('job.id IS NULL')
    .getCount();
}

/** Whether a container with this jobId is counted through a job of the queue rather than on its own. */
export async function holdsJobSlot(manager: EntityManager, jobId: string | null): Promise<boolean> {
  return jobId !== null && (await manager.existsBy(JobEntity, { id: jobId }));
}

/**
 * Refuses to take one more slot when `max` are held. Call it inside the transaction that takes the slot, after
 * lockSlots(), so that no other taker can count in between.
 */
export async function requireFreeSlot(manager: EntityManager, max: number): Promise<void> {
  const held = await countSlotsHeld(manager);
  if (held < max) return;
  throw new DomainError(
    ErrorCode.CapacityExhausted,
    `RunnerHub already holds ${held} of its ${max} containers (MAX_CONCURRENT_CONTAINERS; jobs and API containers ` +
      'alike): stop or remove a container you no longer need, wait for a job to finish, or raise ' +
      'MAX_CONCURRENT_CONTAINERS',
    { held, max, setting: 'MAX_CONCURRENT_CONTAINERS' },
  );
}
