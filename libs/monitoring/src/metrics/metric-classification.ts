import { ContainerState, ContainerTransitionPayload, JobTransitionPayload } from '@app/common';

/** The `type` label of runnerhub_alerts_total. */
export type AlertType = 'high-cpu' | 'high-memory' | 'error' | 'stopped';

export const ALERT_TYPES: readonly AlertType[] = ['high-cpu', 'high-memory', 'error', 'stopped'];

/**
 * Whether a transition is a termination nobody asked for, and of which kind.
 *
 * - ERROR is always one (an engine failure, an OOM kill, a container that vanished while meant to run).
 * - STOPPED reached through STOPPING was asked for: an API stop, a forced removal, or the reconciler finishing a stop
 *   that a crash interrupted (the lifecycle writes `stopped (exit N)` then). STOPPED straight from RUNNING or
 *   STARTING is the process ending on its own or being killed outside RunnerHub (the reconciler writes
 *   `exited with code N`): unexpected, unless it exited 0, which is a process that finished its work (an ephemeral
 *   runner exits 0 after its job). The previous state decides rather than the reason's wording, which is prose.
 * - A record adopted as STOPPED (no previous state) is bookkeeping after a restart, not a termination seen here.
 */
export function terminationAlert(
  transition: Pick<ContainerTransitionPayload, 'previousState' | 'state' | 'exitCode'>,
): AlertType | null {
  if (transition.state === ContainerState.Error) return 'error';
  if (transition.state !== ContainerState.Stopped) return null;
  if (transition.previousState === null || transition.previousState === ContainerState.Stopping) return null;
  return transition.exitCode === 0 ? null : 'stopped';
}

const CLEANUP_REASON = /^cleanup:([a-z0-9][a-z0-9_.-]*)/i;

/**
 * The cleanup policy a removal's reason names (`cleanup:orphan` -> `orphan`), or null when cleanup did not ask for
 * it. Only the leading word is taken, so a reason with details after it cannot blow up the label's cardinality.
 */
export function cleanupPolicyOf(reason: string): string | null {
  const match = CLEANUP_REASON.exec(reason);
  return match ? match[1].toLowerCase() : null;
}

/**
 * Seconds a job waited in the queue before its first assignment, or null for a later one. A retry puts the job back
 * to QUEUED keeping its `queuedAt`, with the failed attempt counted, so `attempts` is 0 only on the first claim:
 * timing a retry from the original `queuedAt` would count the failed attempt as waiting. (The one exception: a job
 * whose replica died before its first attempt was counted is queued again by the stale-job sweeper with `attempts`
 * still 0, and timed twice.)
 *
 * `assignedAt` is when the event arrived rather than the payload's `at`: the dispatcher publishes the event right
 * after its claim commits, and `at` is the row's update time, which SQLite writes in whole seconds (CURRENT_TIMESTAMP)
 * while `queuedAt` has milliseconds, so `at - queuedAt` can be off by up to a second, even negative.
 */
export function firstQueueWaitSeconds(
  job: Pick<JobTransitionPayload, 'attempts' | 'queuedAt'>,
  assignedAt: number,
): number | null {
  if (job.attempts !== 0) return null;
  const queuedAt = Date.parse(job.queuedAt);
  if (!Number.isFinite(queuedAt)) return null;
  return Math.max(0, assignedAt - queuedAt) / 1000;
}
