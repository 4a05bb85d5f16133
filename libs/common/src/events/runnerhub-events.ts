import type { ImagePullPolicy } from '../config/app-config';
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

/**
 * Image pulls (libs/docker's ImagePuller). One pull, however many callers share it, publishes `pulling`, then
 * `pull-progress` at most about once a second while bytes arrive, then `pulled` or `pull-failed`. No payload ever
 * carries a credential: `authenticated` only says whether REGISTRY_AUTH had some for the registry.
 */
export const ImageEvent = {
  Pulling: 'image:pulling',
  PullProgress: 'image:pull-progress',
  Pulled: 'image:pulled',
  PullFailed: 'image:pull-failed',
} as const;

/** Why a pull failed, as IMAGE_PULL_FAILED's details.reason says it. */
export type ImagePullFailureReason = 'unauthorized' | 'not-found' | 'unreachable' | 'failed';

/** What every image event says about the pull it belongs to. */
export interface ImagePullSubject {
  /** The reference as asked for, e.g. `ghcr.io/actions/actions-runner:2.329.0`. */
  image: string;
  /** The registry's host (and port): `ghcr.io`, `127.0.0.1:5000`, `docker.io`. */
  registry: string;
  /** ISO 8601, when the event was published. */
  at: string;
}

/** A pull started (the image was missing, or the policy is `always`). */
export interface ImagePullingPayload extends ImagePullSubject {
  policy: Exclude<ImagePullPolicy, 'never'>;
  /** Whether credentials from REGISTRY_AUTH were sent (never which). */
  authenticated: boolean;
}

/** A pull is under way. Bytes are compressed download bytes; bytesTotal is null until every layer's size is known. */
export interface ImagePullProgressPayload extends ImagePullSubject {
  layersTotal: number;
  layersDone: number;
  bytesDone: number;
  bytesTotal: number | null;
  /** Since the pull started. */
  elapsedMs: number;
}

/** A pull finished and the image is on the engine. */
export interface ImagePulledPayload extends ImagePullSubject {
  imageId: string;
  /** The registry's digest of what was pulled (`sha256:...`); null if the engine recorded none. */
  digest: string | null;
  durationMs: number;
  /** Bytes downloaded (0 when every layer was already on the engine). */
  bytesDownloaded: number;
}

/** A pull failed; the error the callers got, without anything secret. */
export interface ImagePullFailedPayload extends ImagePullSubject {
  /** The ErrorCode: IMAGE_PULL_FAILED, or TIMEOUT / ENGINE_UNAVAILABLE when the engine itself did not answer. */
  code: string;
  /** For IMAGE_PULL_FAILED; null for the other codes. */
  reason: ImagePullFailureReason | null;
  message: string;
  durationMs: number;
}

type TransitionEventName = Exclude<
  (typeof ContainerEvent)[keyof typeof ContainerEvent],
  typeof ContainerEvent.HighCpu | typeof ContainerEvent.HighMemory
>;

/** The typed catalogue: an event's name decides its payload, so the two cannot drift apart. */
export type RunnerHubEventMap = { [K in TransitionEventName]: ContainerTransitionPayload } & {
  [ContainerEvent.HighCpu]: ContainerResourceAlertPayload;
  [ContainerEvent.HighMemory]: ContainerResourceAlertPayload;
} & { [K in JobEventName]: JobTransitionPayload } & { [CleanupEvent.Scanned]: CleanupScanPayload } & {
  [ImageEvent.Pulling]: ImagePullingPayload;
  [ImageEvent.PullProgress]: ImagePullProgressPayload;
  [ImageEvent.Pulled]: ImagePulledPayload;
  [ImageEvent.PullFailed]: ImagePullFailedPayload;
} & { [K in EngineEventName]: EngineChangePayload } & { [K in PoolEventName]: PoolRunnerPayload };

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

/**
 * The fleet's engines (libs/fleet): one added through the API, its definition changed, and each state it arrives in.
 * Published after the change is written to the `engines` table.
 */
export const EngineEvent = {
  Added: 'engine:added',
  Updated: 'engine:updated',
  Active: 'engine:active',
  Draining: 'engine:draining',
  Drained: 'engine:drained',
  Unreachable: 'engine:unreachable',
} as const;

export type EngineEventName = (typeof EngineEvent)[keyof typeof EngineEvent];

/** An engine's state as the `engines` table stores it (libs/persistence's EngineState). */
export type EngineStateName = 'active' | 'draining' | 'drained' | 'unreachable';

/** An engine was added, changed or moved to another state. */
export interface EngineChangePayload {
  /** The engine's name. */
  engine: string;
  /** Its state before; null for an engine just added. */
  previousState: EngineStateName | null;
  state: EngineStateName;
  /** What happened, for a person: `drain asked by admin-3f9a1c2b`, the engine's last error, `labels changed`. */
  reason: string;
  /** The API key's name, or `system` for the prober's own changes. */
  actor: string;
  /** ISO 8601, when the change was written. */
  at: string;
}

/**
 * Warm pools (RUNNER_POOLS): an idle runner was started ahead of demand or retired, a queued job was handed an idle
 * runner (a hit) or had to have one made for it (a miss: the pool had none idle).
 */
export const PoolEvent = {
  RunnerStarted: 'pool:runner-started',
  RunnerRetired: 'pool:runner-retired',
  Hit: 'pool:hit',
  Miss: 'pool:miss',
} as const;

export type PoolEventName = (typeof PoolEvent)[keyof typeof PoolEvent];

/** Something happened to a pool; never carries the runner's credentials. */
export interface PoolRunnerPayload {
  pool: string;
  /** The runner it concerns; null for a miss. */
  runnerId: string | null;
  runnerName: string | null;
  containerId: string | null;
  /** The job handed the runner (a hit) or left without one (a miss); null otherwise. */
  jobId: string | null;
  reason: string;
  /** ISO 8601, when it happened. */
  at: string;
}
