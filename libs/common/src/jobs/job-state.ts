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
