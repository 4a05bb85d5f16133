import { createHmac, randomInt, randomUUID } from 'node:crypto';

export type WorkflowJobAction = 'queued' | 'waiting' | 'in_progress' | 'completed';

export interface WorkflowJobPayloadOptions {
  action: WorkflowJobAction;
  jobId: number;
  runId: number;
  /** `owner/name`. */
  repository: string;
  /** The job's `runs-on` labels. */
  labels: string[];
  /** The runner that took the job (in_progress, completed); null before one did. */
  runnerName?: string;
  runnerId?: number;
  /** For completed jobs: success, failure, cancelled, skipped, timed_out... */
  conclusion?: string;
  /** The job's name in the workflow; "build" unless given. */
  jobName?: string;
  workflowName?: string;
}

/**
 * A `workflow_job` webhook payload in the shape GitHub documents (webhook events and payloads, workflow_job):
 * the action, the job with its status for that action, the repository, its owner as organisation and sender.
 */
export function workflowJobPayload(options: WorkflowJobPayloadOptions) {
  const { action, jobId, runId, repository, labels } = options;
  const [owner, name] = repository.split('/');
  const now = new Date().toISOString();
  // GitHub's status follows the action: queued, waiting, in_progress, completed.
  const status = action;
  const assigned = action === 'in_progress' || action === 'completed';
  const runnerName = assigned ? (options.runnerName ?? null) : null;
  const api = `https://api.github.com/repos/${repository}`;
  const ownerJson = {
    login: owner,
    id: idFrom(owner),
    node_id: `O_${owner}`,
    type: 'Organization',
    url: `https://api.github.com/users/${owner}`,
    html_url: `https://github.com/${owner}`,
    site_admin: false,
  };
  return {
    action,
    workflow_job: {
      id: jobId,
      run_id: runId,
      workflow_name: options.workflowName ?? 'CI',
      head_branch: 'main',
      run_url: `${api}/actions/runs/${runId}`,
      run_attempt: 1,
      node_id: `CR_${jobId}`,
      head_sha: 'f'.repeat(40),
      url: `${api}/actions/jobs/${jobId}`,
      html_url: `https://github.com/${repository}/actions/runs/${runId}/job/${jobId}`,
      status,
      conclusion: action === 'completed' ? (options.conclusion ?? 'success') : null,
      created_at: now,
      started_at: now,
      completed_at: action === 'completed' ? now : null,
      name: options.jobName ?? 'build',
      steps: [],
      check_run_url: `${api}/check-runs/${jobId}`,
      labels: [...labels],
      runner_id: runnerName === null ? null : (options.runnerId ?? randomInt(1, 1_000_000)),
      runner_name: runnerName,
      runner_group_id: runnerName === null ? null : 1,
      runner_group_name: runnerName === null ? null : 'Default',
    },
    repository: {
      id: idFrom(repository),
      node_id: `R_${repository}`,
      name,
      full_name: repository,
      private: true,
      owner: ownerJson,
      html_url: `https://github.com/${repository}`,
      url: api,
      default_branch: 'main',
    },
    organization: {
      login: owner,
      id: ownerJson.id,
      node_id: ownerJson.node_id,
      url: `https://api.github.com/orgs/${owner}`,
    },
    sender: { login: 'octocat', id: 583231, node_id: 'MDQ6VXNlcjU4MzIzMQ==', type: 'User', site_admin: false },
  };
}

export interface SignedDelivery {
  /** Send exactly this text: the signature covers these bytes. */
  body: string;
  headers: {
    'content-type': string;
    'user-agent': string;
    'x-github-event': string;
    'x-github-delivery': string;
    'x-hub-signature-256': string;
  };
}

/** `sha256=` and the HMAC-SHA256 (hex) of the exact body with the webhook secret, as in X-Hub-Signature-256. */
export function signatureOf(secret: string, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(body, 'utf8').digest('hex')}`;
}

/** A webhook delivery as GitHub sends it: the JSON body and the headers that identify and sign it. */
export function signedDelivery(
  secret: string,
  payload: unknown,
  { deliveryId = randomUUID(), event = 'workflow_job' }: { deliveryId?: string; event?: string } = {},
): SignedDelivery {
  const body = JSON.stringify(payload);
  return {
    body,
    headers: {
      'content-type': 'application/json',
      'user-agent': 'GitHub-Hookshot/runnerhub-test',
      'x-github-event': event,
      'x-github-delivery': deliveryId,
      'x-hub-signature-256': signatureOf(secret, body),
    },
  };
}

/** A stable positive id from a name, so that one owner or repository keeps its id across payloads. */
function idFrom(text: string): number {
  let hash = 0;
  for (const char of text) hash = (hash * 31 + char.charCodeAt(0)) % 2_000_000_000;
  return hash + 1;
}
