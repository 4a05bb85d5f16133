import { canMoveJob, FINAL_JOB_STATES, JobState } from './job-state';

describe('job transitions', () => {
  it('lets a job go the whole way, and be retried from ASSIGNED', () => {
    const path = [JobState.Queued, JobState.Assigned, JobState.Running, JobState.Completed];
    for (let i = 1; i < path.length; i++) expect(canMoveJob(path[i - 1], path[i])).toBe(true);
    expect(canMoveJob(JobState.Assigned, JobState.Queued)).toBe(true);
  });

  it('never moves a finished job, and never queues a running one again', () => {
    for (const final of FINAL_JOB_STATES)
      for (const to of Object.values(JobState)) expect(canMoveJob(final, to)).toBe(false);
    expect(canMoveJob(JobState.Running, JobState.Queued)).toBe(false);
  });

  it('runs a queued job that GitHub gave to a runner made for another job', () => {
    expect(canMoveJob(JobState.Queued, JobState.Running)).toBe(true);
  });
});
