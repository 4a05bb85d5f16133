/** Where a runner registers: one repository, or every repository of an organisation (through a runner group). */
export type RunnerScope = { kind: 'repository'; owner: string; repo: string } | { kind: 'organization'; org: string };

export interface RunnerRegistrationRequest {
  scope: RunnerScope;
  /** Unique within the scope: GitHub refuses a second runner of the same name. */
  name: string;
  labels: string[];
}

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
