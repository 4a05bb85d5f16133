import { ContainerState, JobState } from '@app/common';

/** Why a container goes: the policy that decided it, recorded as the removal's reason `cleanup:<policy>`. */
export type CleanupPolicy = 'completed' | 'failed' | 'orphan' | 'stopped' | 'stuck';

/** What the policies read of a container record. */
export interface RecordView {
  id: string;
  name: string;
  engineId: string | null;
  state: ContainerState;
  jobId: string | null;
  stateChangedAt: Date;
  /** Why it is in its state: `adopted: ...` marks a labelled container the reconciler found with no record. */
  stateReason: string | null;
}

/** What the policies read of a container on an engine (only `runnerhub.managed` ones are ever listed). */
export interface EngineContainerView {
  /** The engine of the fleet it was found on. */
  engineName: string;
  engineId: string;
  name: string;
  running: boolean;
  created: Date;
}

/** What the policies read of a job of the queue. */
export interface JobView {
  id: string;
  state: JobState;
  containerId: string | null;
  finishedAt: Date | null;
}

export interface CleanupSettings {
  completedGraceMs: number;
  preserveFailed: boolean;
  failedRetentionMs: number;
  orphanAgeMs: number;
  stoppedAgeMs: number;
  /** A record still CREATING, STARTING, STOPPING or REMOVING after this long was interrupted. */
  stuckAfterMs: number;
}

export type CleanupAction =
  | { kind: 'remove'; containerId: string; name: string; policy: CleanupPolicy; reason: string; force: boolean }
  /** A labelled engine container no record knows: taken into the books, then removed like any other. */
  | { kind: 'adopt-and-remove'; engineName: string; engineId: string; name: string; policy: 'orphan'; reason: string }
  /** A record left in a transitional state: settled from what the engine shows (which may end in its removal). */
  | { kind: 'resolve'; containerId: string; name: string; policy: 'stuck'; reason: string };

export interface CleanupInput {
  records: RecordView[];
  engineContainers: EngineContainerView[];
  jobs: JobView[];
  now: Date;
  settings: CleanupSettings;
}

const TRANSITIONAL = new Set([
  ContainerState.Creating,
  ContainerState.Starting,
  ContainerState.Stopping,
  ContainerState.Removing,
]);
const ACTIVE_JOB = new Set([JobState.Queued, JobState.Assigned, JobState.Running]);

/**
 * The cleanup policies, as one pure function of what RunnerHub knows and the time: what to remove now, and why.
 * Only containers RunnerHub owns are ever named (its records, and engine containers labelled `runnerhub.managed`);
 * a container of an active job is never touched.
 */
export function decideCleanup({ records, engineContainers, jobs, now, settings }: CleanupInput): CleanupAction[] {
  const jobsById = new Map(jobs.map((job) => [job.id, job]));
  const actions: CleanupAction[] = [];
  const live = records.filter((record) => record.state !== ContainerState.Removed);
  for (const record of live) {
    const action = decideForRecord(record, jobsById.get(record.jobId ?? ''), now, settings);
    if (action) actions.push(action);
  }
  const known = new Set(live.map((record) => record.engineId).filter(Boolean));
  for (const container of engineContainers) {
    if (known.has(container.engineId)) continue;
    const age = now.getTime() - container.created.getTime();
    if (age < settings.orphanAgeMs) continue;
    actions.push({
      kind: 'adopt-and-remove',
      engineName: container.engineName,
      engineId: container.engineId,
      name: container.name,
      policy: 'orphan',
      reason: `labelled runnerhub.managed on engine ${container.engineName} but unknown to RunnerHub for ${describe(age)}`,
    });
  }
  return actions;
}

function decideForRecord(
  record: RecordView,
  job: JobView | undefined,
  now: Date,
  settings: CleanupSettings,
): CleanupAction | null {
  const idleFor = now.getTime() - record.stateChangedAt.getTime();
  if (TRANSITIONAL.has(record.state)) {
    return idleFor >= settings.stuckAfterMs
      ? {
          kind: 'resolve',
          containerId: record.id,
          name: record.name,
          policy: 'stuck',
          reason: `${record.state} for ${describe(idleFor)}`,
        }
      : null;
  }
  if (job) return decideForJobContainer(record, job, now, settings);
  if (record.state === ContainerState.Running) {
    // Running with no job: a leak RunnerHub found on the engine (adopted) goes after the orphan age; one made through
    // the API with no job of the queue is its caller's, until it stops (then the stopped age applies).
    const adopted = record.stateReason?.startsWith('adopted') ?? false;
    return adopted && idleFor >= settings.orphanAgeMs
      ? remove(record, 'orphan', `found running on the engine with no job ${describe(idleFor)} ago`)
      : null;
  }
  if (record.state === ContainerState.Created) {
    return idleFor >= settings.orphanAgeMs
      ? remove(record, 'orphan', `created ${describe(idleFor)} ago and never started, with no job`)
      : null;
  }
  // STOPPED or ERROR, with no job of the queue.
  return idleFor >= settings.stoppedAgeMs
    ? remove(record, 'stopped', `${record.state} for ${describe(idleFor)}`)
    : null;
}

function decideForJobContainer(
  record: RecordView,
  job: JobView,
  now: Date,
  settings: CleanupSettings,
): CleanupAction | null {
  if (ACTIVE_JOB.has(job.state) && job.containerId === record.id) return null;
  // A job's finish time; a container of an older try of a job (or of a job still active) counts from its own state.
  const since = (job.containerId === record.id ? job.finishedAt : null) ?? record.stateChangedAt;
  const age = now.getTime() - since.getTime();
  if (job.state === JobState.Failed && job.containerId === record.id) {
    const keep = settings.preserveFailed ? settings.failedRetentionMs : settings.completedGraceMs;
    return age >= keep ? remove(record, 'failed', `its job failed ${describe(age)} ago`) : null;
  }
  if (job.containerId !== record.id) {
    // A stopped earlier try has nothing left to do (a lost engine's runners, back after their jobs moved on), nor has
    // one never started whose job is over (made as its engine went away). A live one waits the orphan age even when
    // its job is over: it may be the try being made right now, whose record the job does not point at yet, or a
    // runner GitHub has handed another job whose in_progress webhook is on its way.
    const over =
      record.state === ContainerState.Stopped ||
      record.state === ContainerState.Error ||
      (record.state === ContainerState.Created && !ACTIVE_JOB.has(job.state));
    const keep = over ? settings.completedGraceMs : settings.orphanAgeMs;
    return age >= keep ? remove(record, 'orphan', `left by an earlier try of job ${job.id}`) : null;
  }
  return age >= settings.completedGraceMs
    ? remove(record, 'completed', `its job ${job.state} ${describe(age)} ago`)
    : null;
}

function remove(record: RecordView, policy: CleanupPolicy, reason: string): CleanupAction {
  // Past its time a container goes even if it still runs: nothing outlives its purpose.
  return {
    kind: 'remove',
    containerId: record.id,
    name: record.name,
    policy,
    reason,
    force: record.state === ContainerState.Running,
  };
}

function describe(ms: number): string {
  if (ms < 120_000) return `${Math.round(ms / 1000)} s`;
  if (ms < 7_200_000) return `${Math.round(ms / 60_000)} min`;
  return `${Math.round(ms / 3_600_000)} h`;
}
