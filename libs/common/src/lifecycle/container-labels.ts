/**
 * Labels every container RunnerHub creates carries on the engine. They are how RunnerHub finds its containers again
 * after a crash, and how it knows never to touch a container it does not own.
 */
export const RunnerHubLabel = {
  Managed: 'runnerhub.managed',
  Type: 'runnerhub.type',
  Record: 'runnerhub.record',
  Job: 'runnerhub.job',
  Runner: 'runnerhub.runner',
  Repository: 'runnerhub.repository',
} as const;

/** Labels RunnerHub sets itself; a caller's labels may not override them. */
export const RESERVED_LABELS: ReadonlySet<string> = new Set([
  RunnerHubLabel.Managed,
  RunnerHubLabel.Record,
  RunnerHubLabel.Job,
  RunnerHubLabel.Runner,
  RunnerHubLabel.Repository,
]);

export const MANAGED_SELECTOR = { [RunnerHubLabel.Managed]: 'true' } as const;

/** `runnerhub.type` of a `docker` profile runner's own Docker daemon, made and removed with its runner. */
export const DAEMON_SIDECAR_TYPE = 'dind';

/**
 * A runner's Docker daemon is part of its runner's unit, not a runner container of its own: the reconciler never
 * adopts one and the cleanup policies never judge one; the unit's owner releases it with its runner.
 */
export function isDaemonSidecar(labels: Readonly<Record<string, string>>): boolean {
  return labels[RunnerHubLabel.Type] === DAEMON_SIDECAR_TYPE;
}
