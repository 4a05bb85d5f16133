import { DomainError, ErrorCode } from '@app/common';

/** The parts of GitHub's `workflow_job` webhook payload RunnerHub reads. */
export interface WorkflowJobEvent {
  action: string;
  githubJobId: string;
  githubRunId: string;
  repository: string;
  labels: string[];
  conclusion: string | null;
  runnerName: string | null;
}

/**
 * Reads a `workflow_job` payload, refusing one that lacks what GitHub always sends. Ids are kept as text: they
 * outgrow 32-bit integers, and a JSON number this large is still exact in a double up to 2^53.
 */
export function parseWorkflowJob(payload: unknown): WorkflowJobEvent {
  const problems: Array<{ field: string; message: string }> = [];
  const body = asObject(payload);
  const job = asObject(body?.workflow_job);
  const repository = asObject(body?.repository);
  if (typeof body?.action !== 'string') problems.push({ field: 'action', message: 'must be a string' });
  if (!Number.isSafeInteger(job?.id)) problems.push({ field: 'workflow_job.id', message: 'must be an integer' });
  if (!Number.isSafeInteger(job?.run_id))
    problems.push({ field: 'workflow_job.run_id', message: 'must be an integer' });
  const labels = job?.labels;
  if (!Array.isArray(labels) || !labels.every((label) => typeof label === 'string')) {
    problems.push({ field: 'workflow_job.labels', message: 'must be an array of strings' });
  }
  const fullName = repository?.full_name;
  if (typeof fullName !== 'string' || !/^[\w.-]+\/[\w.-]+$/.test(fullName)) {
    problems.push({ field: 'repository.full_name', message: 'must be owner/name' });
  }
  if (problems.length > 0 || !body || !job) {
    throw new DomainError(ErrorCode.ValidationFailed, 'The workflow_job payload is not what GitHub sends', {
      problems,
    });
  }
  return {
    action: body.action as string,
    githubJobId: String(job.id),
    githubRunId: String(job.run_id),
    repository: fullName as string,
    labels: labels as string[],
    conclusion: typeof job.conclusion === 'string' ? job.conclusion : null,
    runnerName: typeof job.runner_name === 'string' ? job.runner_name : null,
  };
}

function asObject(value: unknown): Record<string, unknown> | null {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : null;
}
