import { JobState } from '../jobs/job-state';
import { ContainerState } from '../lifecycle/container-state';

/** Every event RunnerHub publishes, by name. Listeners subscribe with these constants, never with string literals. */
export const ContainerEvent = {
  Created: 'container:created',
  Starting: 'container:starting',
  Started: 'container:started',
  Stopping: 'container:stopping',
  Stopped: 'container:stopped',
  Removing: 'container:removing',
  Removed: 'container:removed',
  Error: 'container:error',
  HighCpu: 'container:high-cpu',
  HighMemory: 'container:high-memory',
} as const;

/** A container changed state. Written to the database before it is published; never carries env values. */
export interface ContainerTransitionPayload {
  containerId: string;
  engineId: string | null;
  name: string;
  previousState: ContainerState | null;
  state: ContainerState;
  reason: string;
  actor: string;
  exitCode: number | null;
  runnerId: string | null;
  jobId: string | null;
  repository: string | null;
  /** ISO 8601, when the transition was written. */
  at: string;
}

/** A running container crossed an alert threshold. */
export interface ContainerResourceAlertPayload {
  containerId: string;
  name: string;
  jobId: string | null;
  repository: string | null;
  /** The measured value: CPU % (100 per core) or memory % of the limit. */
  value: number;
  threshold: number;
  at: string;
}

/** Job events: one for each state a job can arrive in. */
export const JobEvent = {
  Queued: 'job:queued',
  Assigned: 'job:assigned',
  Running: 'job:running',
  Completed: 'job:completed',
  Failed: 'job:failed',
  Cancelled: 'job:cancelled',
} as const;

export type JobEventName = (typeof JobEvent)[keyof typeof JobEvent];

/** A job changed state. Written to the database before it is published; never carries a runner token. */
export interface JobTransitionPayload {
  jobId: string;
  previousState: JobState | null;
  state: JobState;
  repository: string;
  labels: string[];
  githubJobId: string | null;
  runnerId: string | null;
  containerId: string | null;
  attempts: number;
  reason: string;
  /** ISO 8601, when the job entered the queue (with `at`, how long it waited). */
  queuedAt: string;
  /** ISO 8601, when the transition was written. */
  at: string;
}

export const EVENT_FOR_JOB_STATE: Readonly<Record<JobState, JobEventName>> = {
  [JobState.Queued]: JobEvent.Queued,
  [JobState.Assigned]: JobEvent.Assigned,
  [JobState.Running]: JobEvent.Running,
  [JobState.Completed]: JobEvent.Completed,
  [JobState.Failed]: JobEvent.Failed,
  [JobState.Cancelled]: JobEvent.Cancelled,
};

/** A cleanup scan finished (on a schedule or asked for); what it did is in the containers' own events. */
export const CleanupEvent = { Scanned: 'cleanup:scanned' } as const;

export interface CleanupScanPayload {
  trigger: 'schedule' | 'manual';
  durationMs: number;
  removed: number;
  resolved: number;
  skipped: number;
  at: string;
}

type TransitionEventName = Exclude<
  (typeof ContainerEvent)[keyof typeof ContainerEvent],
  typeof ContainerEvent.HighCpu | typeof ContainerEvent.HighMemory
>;

/** The typed catalogue: an event's name decides its payload, so the two cannot drift apart. */
export type RunnerHubEventMap = { [K in TransitionEventName]: ContainerTransitionPayload } & {
  [ContainerEvent.HighCpu]: ContainerResourceAlertPayload;
  [ContainerEvent.HighMemory]: ContainerResourceAlertPayload;
} & { [K in JobEventName]: JobTransitionPayload } & { [CleanupEvent.Scanned]: CleanupScanPayload };

export type RunnerHubEventName = keyof RunnerHubEventMap;

/** The event that announces arrival in a state; CREATING has none, since the record is not yet a container. */
export const EVENT_FOR_STATE: Readonly<Record<ContainerState, TransitionEventName | null>> = {
  [ContainerState.Creating]: null,
  [ContainerState.Created]: ContainerEvent.Created,
  [ContainerState.Starting]: ContainerEvent.Starting,
  [ContainerState.Running]: ContainerEvent.Started,
  [ContainerState.Stopping]: ContainerEvent.Stopping,
  [ContainerState.Stopped]: ContainerEvent.Stopped,
  [ContainerState.Removing]: ContainerEvent.Removing,
  [ContainerState.Removed]: ContainerEvent.Removed,
  [ContainerState.Error]: ContainerEvent.Error,
};
