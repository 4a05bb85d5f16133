export interface DockerEngineOptions {
  /**
   * Deadline for a control call (inspect, create, start, kill, remove, list, ping...). The engine can hang (a stuck
   * containerd, a full disk), and a caller must get EngineUnavailable rather than wait for ever.
   */
  controlTimeoutMs: number;
  /** Deadline for one stats sample: a stream:false sample needs two engine ticks (about 2 s). */
  statsTimeoutMs: number;
  /**
   * A previous raw sample younger than this is used as the CPU baseline of a fast one-shot sample; an older one is
   * ignored and a slower stream:false sample (which carries its own baseline) is taken instead.
   */
  statsBaselineMaxAgeMs: number;
  /** How many containers' previous samples are kept; the oldest is dropped first. */
  statsBaselineCapacity: number;
  /** Deadline for killing what a timed-out exec left running, and for reading an exec's exit code. */
  execCleanupTimeoutMs: number;
  /**
   * Deadline for one image pull, stream read to its end (ImagePuller). A runner image is about 1 GB: long enough for
   * that on a slow link, short enough that a registry which stalls mid-pull does not hold a job for ever.
   */
  pullTimeoutMs: number;
}

export const DEFAULT_DOCKER_ENGINE_OPTIONS: DockerEngineOptions = {
  controlTimeoutMs: 15_000,
  statsTimeoutMs: 10_000,
  statsBaselineMaxAgeMs: 120_000,
  statsBaselineCapacity: 1_024,
  execCleanupTimeoutMs: 5_000,
  pullTimeoutMs: 600_000,
};

export interface EngineEventStreamOptions {
  /** Follow only containers carrying these labels (value true: the label is present with any value). */
  labels?: Record<string, string | true>;
  initialBackoffMs: number;
  maxBackoffMs: number;
  /** A connection attempt that has no answer after this long is abandoned and retried. */
  connectTimeoutMs: number;
  /**
   * On reconnect the stream asks for events from this long before the last one it saw, so that events the engine
   * stamped out of order around a drop are not lost; the overlap is then de-duplicated.
   */
  resumeOverlapMs: number;
}

export const DEFAULT_ENGINE_EVENT_STREAM_OPTIONS: EngineEventStreamOptions = {
  initialBackoffMs: 100,
  maxBackoffMs: 5_000,
  connectTimeoutMs: 10_000,
  resumeOverlapMs: 1_000,
};
