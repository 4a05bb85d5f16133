import { ErrorCode } from '@app/common';
import { parseWorkflowJob } from './workflow-job.payload';

describe(parseWorkflowJob.name, () => {
  const payload = {
    action: 'queued',
    workflow_job: {
      id: 29679449,
      run_id: 10428312,
      labels: ['self-hosted', 'linux'],
      conclusion: null,
      runner_name: null,
    },
    repository: { full_name: 'octo-org/hello-world', name: 'hello-world', owner: { login: 'octo-org' } },
  };

  it('reads what RunnerHub needs, ids as exact text', () => {
    expect(parseWorkflowJob(payload)).toEqual({
      action: 'queued',
      githubJobId: '29679449',
      githubRunId: '10428312',
      repository: 'octo-org/hello-world',
      labels: ['self-hosted', 'linux'],
      conclusion: null,
      runnerName: null,
    });
  });

  it('refuses a payload missing what GitHub always sends, naming each field', () => {
    let thrown: unknown;
    try {
      parseWorkflowJob({ action: 'queued', workflow_job: { id: 'x', labels: [1] }, repository: {} });
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toMatchObject({
      code: ErrorCode.ValidationFailed,
      details: {
        problems: [
          { field: 'workflow_job.id', message: 'must be an integer' },
          { field: 'workflow_job.run_id', message: 'must be an integer' },
          { field: 'workflow_job.labels', message: 'must be an array of strings' },
          { field: 'repository.full_name', message: 'must be owner/name' },
        ],
      },
    });
    expect(() => parseWorkflowJob('not an object')).toThrow('not what GitHub sends');
  });
});
