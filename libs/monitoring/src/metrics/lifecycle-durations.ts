import { ContainerState, ContainerTransitionPayload } from '@app/common';

export type LifecycleOperation = 'start' | 'stop' | 'remove';

/** One lifecycle operation that ended, timed from the transition that began it to the one that ended it. */
export interface FinishedOperation {
  operation: LifecycleOperation;
  outcome: 'ok' | 'error';
  seconds: number;
  /** The reason the operation was begun with (a removal's reason says who asked for it, e.g. `cleanup:orphan`). */
  reason: string;
}

export type TransitionFacts = Pick<
  ContainerTransitionPayload,
  'containerId' | 'previousState' | 'state' | 'at' | 'reason'
>;

/** The transitional state that begins each operation, and the state in which it succeeds. */
const OPERATIONS: Record<LifecycleOperation, { during: ContainerState; success: ContainerState }> = {
  start: { during: ContainerState.Starting, success: ContainerState.Running },
  stop: { during: ContainerState.Stopping, success: ContainerState.Stopped },
  remove: { during: ContainerState.Removing, success: ContainerState.Removed },
};

const OPERATION_DURING = new Map<ContainerState, LifecycleOperation>(
  (Object.keys(OPERATIONS) as LifecycleOperation[]).map((operation) => [OPERATIONS[operation].during, operation]),
);

/** Containers with an operation in flight at once, at most; far above MAX_CONCURRENT_CONTAINERS. */
export const DEFAULT_PENDING_CAPACITY = 10_000;

interface Pending {
  operation: LifecycleOperation;
  startedAt: number;
  reason: string;
}

/**
 * Derives how long start, stop and remove took from the transition events alone: STARTING -> RUNNING is a start,
 * STOPPING -> STOPPED a stop, REMOVING -> REMOVED a removal, and any of the three ending in ERROR is that operation
 * failing. Times are the transitions' own `at` (written by the lifecycle to the millisecond), not when the events
 * arrived. Any other way out of a transitional state (STARTING -> STOPPED: exited while starting) is neither success
 * nor failure of the operation and is not timed.
 *
 * The operations in flight are kept per container in a bounded map: a container whose operation never ends (the
 * process stopped first, or another replica finished it) must not grow it forever, so the oldest entry goes first.
 * Events arrive in the order they were published for one container (they are emitted synchronously, after each
 * write, under the container's lock), which is all this relies on.
 */
export class LifecycleDurations {
  private readonly pending = new Map<string, Pending>();

  constructor(private readonly capacity = DEFAULT_PENDING_CAPACITY) {}

  /** Takes one transition; returns the operation it finished, if it finished one. */
  record(transition: TransitionFacts): FinishedOperation | null {
    const at = Date.parse(transition.at);
    const pending = this.pending.get(transition.containerId);
    // Whatever was in flight for this container ended with this transition, one way or another.
    this.pending.delete(transition.containerId);
    const finished = pending && Number.isFinite(at) ? this.finish(pending, transition, at) : null;

    const begun = OPERATION_DURING.get(transition.state);
    if (begun && Number.isFinite(at)) {
      this.pending.set(transition.containerId, { operation: begun, startedAt: at, reason: transition.reason });
      if (this.pending.size > this.capacity) this.pending.delete(this.pending.keys().next().value!);
    }
    return finished;
  }

  /** Containers with an operation in flight (for tests and diagnostics). */
  get inFlight(): number {
    return this.pending.size;
  }

  private finish(pending: Pending, transition: TransitionFacts, at: number): FinishedOperation | null {
    const { during, success } = OPERATIONS[pending.operation];
    if (transition.previousState !== during) return null;
    const outcome = transition.state === success ? 'ok' : transition.state === ContainerState.Error ? 'error' : null;
    if (!outcome) return null;
    // The wall clock can be stepped back between the two writes: never report a negative duration.
    const seconds = Math.max(0, at - pending.startedAt) / 1000;
    return { operation: pending.operation, outcome, seconds, reason: pending.reason };
  }
}
