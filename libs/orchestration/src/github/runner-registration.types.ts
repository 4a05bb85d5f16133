/** Where a runner registers: one repository, or every repository of an organisation (through a runner group). */
export type RunnerScope = { kind: 'repository'; owner: string; repo: string } | { kind: 'organization'; org: string };

export interface RunnerRegistrationRequest {
  scope: RunnerScope;
  /** Unique within the scope: GitHub refuses a second runner of the same name. */
  name: string;
  labels: string[];
  /** What the runner image can take; default both (JIT first, a registration token where GitHub has no JIT). */
  accepts?: { jitConfig: boolean; registrationToken: boolean };
}

/** A workflow job as GitHub's REST API shows it (`GET /repos/{owner}/{repo}/actions/jobs/{job_id}`). */
export interface GitHubWorkflowJob {
  id: string;
  /** queued, in_progress, completed, waiting, requested, pending */
  status: string;
  /** success, failure, cancelled, skipped, timed_out... once completed; null before. */
  conclusion: string | null;
  runnerName: string | null;
  runnerId: number | null;
}

/**
 * What became of a removal on GitHub: `removed`, `already-gone` (GitHub had removed it: an ephemeral runner leaves
 * once its job is done, or someone deleted it), or `busy` (GitHub refused: it has handed the runner a job).
 */
export type RunnerDeregistration = 'removed' | 'already-gone' | 'busy';

/**
 * What a runner container needs to join GitHub. A just-in-time configuration registers the runner already (GitHub
 * lists it, with its id, before the container starts); a registration token is the older way, where the runner
 * registers itself with `config.sh` and so has no id until then. Both are secrets: hand them to the container only.
 */
export type RunnerCredentials =
  | { kind: 'jit'; githubRunnerId: number; encodedJitConfig: string }
  | { kind: 'registration-token'; token: string; expiresAt: Date };

/** The scope as people write it (owner/repo or org), for messages and error details. */
export function describeScope(scope: RunnerScope): string {
  return scope.kind === 'repository' ? `${scope.owner}/${scope.repo}` : scope.org;
}
