/** Where a GitHub Actions job is in RunnerHub's queue. */
export enum JobState {
  Queued = 'queued',
  Assigned = 'assigned',
  Running = 'running',
  Completed = 'completed',
  Failed = 'failed',
  Cancelled = 'cancelled',
}

/** States a job never leaves. */
export const FINAL_JOB_STATES: ReadonlySet<JobState> = new Set([
  JobState.Completed,
  JobState.Failed,
  JobState.Cancelled,
]);

/**
 * Every move a job may make. ASSIGNED -> QUEUED is a retry (or a replica that died holding the job); QUEUED ->
 * RUNNING is GitHub giving the job to a runner made for another job; a job finishes from any live state, since
 * GitHub can complete or cancel it before its runner ever started.
 */
const JOB_TRANSITIONS: Readonly<Record<JobState, readonly JobState[]>> = {
  [JobState.Queued]: [JobState.Assigned, JobState.Running, JobState.Completed, JobState.Failed, JobState.Cancelled],
  [JobState.Assigned]: [JobState.Queued, JobState.Running, JobState.Completed, JobState.Failed, JobState.Cancelled],
  [JobState.Running]: [JobState.Completed, JobState.Failed, JobState.Cancelled],
  [JobState.Completed]: [],
  [JobState.Failed]: [],
  [JobState.Cancelled]: [],
};

export function canMoveJob(from: JobState, to: JobState): boolean {
  return JOB_TRANSITIONS[from].includes(to);
}
