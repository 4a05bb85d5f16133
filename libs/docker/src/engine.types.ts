/**
 * RunnerHub's own vocabulary for what the engine says. Callers see these types only, so a dockerode upgrade or an
 * engine API change stops at libs/docker.
 */

export interface EngineVersion {
  version: string;
  apiVersion: string;
  os: string;
  arch: string;
}

export interface EngineInfo {
  storageDriver: string;
  /** The filesystem under the storage driver (overlay2 reports e.g. 'extfs' or 'xfs'); absent when not reported. */
  backingFilesystem?: string;
  /** '1' or '2', as the engine reports it. */
  cgroupVersion: string;
  /** 'cgroupfs' or 'systemd'. */
  cgroupDriver: string;
  cpus: number;
  memoryBytes: number;
  serverVersion: string;
}

/**
 * The subset of the engine's HostConfig RunnerHub sets. Keys keep the engine's spelling so that a spec reads like the
 * engine documentation and an inspection can be compared with the spec that made it.
 */
export interface HostConfigSpec {
  CpuShares?: number;
  CpuQuota?: number;
  CpuPeriod?: number;
  /** Bytes. */
  Memory?: number;
  /** Memory plus swap, in bytes; equal to Memory means no swap, -1 means unlimited swap. */
  MemorySwap?: number;
  PidsLimit?: number;
  CapDrop?: string[];
  CapAdd?: string[];
  SecurityOpt?: string[];
  ReadonlyRootfs?: boolean;
  /** Mount point to mount options, e.g. { '/tmp': 'rw,noexec,size=64m' }. */
  Tmpfs?: Record<string, string>;
  UsernsMode?: string;
  /** e.g. { size: '10G' }; most engines refuse it (overlay2 needs xfs with pquota), which surfaces as UnsupportedByEngine. */
  StorageOpt?: Record<string, string>;
  /** Runs a tiny init as PID 1, so that SIGTERM reaches the job and zombies are reaped. */
  Init?: boolean;
  NetworkMode?: string;
  /** Never true: a privileged runner owns the host. The type and a runtime check both refuse it. */
  Privileged?: false;
  /** Only a runner's Docker daemon uses it (the cgroup filesystem); a caller's host paths go through Mounts. */
  Binds?: string[];
  /**
   * Named volumes (created and labelled by RunnerHub, holding nothing of the host) and read-only host bind mounts,
   * whose host path HostBindMounts resolved and checked against SECURITY_ALLOWED_BIND_MOUNTS. A writable bind is
   * refused here.
   */
  Mounts?: Array<VolumeMountSpec | BindMountSpec>;
}

/** A host path mounted into a container, in the engine's spelling (HostConfig.Mounts): always read-only. */
export interface BindMountSpec {
  Type: 'bind';
  /** Absolute host path, already resolved (no symlink left to follow). */
  Source: string;
  /** Absolute path inside the container. */
  Target: string;
  ReadOnly: true;
  /** NonRecursive: mounts below Source are not carried along (they could be writable). */
  BindOptions?: { NonRecursive?: boolean };
}

/** A named volume mounted into a container, in the engine's spelling (HostConfig.Mounts). */
export interface VolumeMountSpec {
  Type: 'volume';
  /** The volume's name. */
  Source: string;
  /** Absolute path inside the container. */
  Target: string;
  ReadOnly?: boolean;
  /**
   * NoCopy true: an empty volume is not filled with what the image holds at Target. The engine's default (copy) is
   * what fills a fresh volume from the first container that mounts it.
   */
  VolumeOptions?: { NoCopy?: boolean };
}

/**
 * The one container RunnerHub may run privileged: a job's own Docker daemon (the `docker` runner profile), which
 * needs to mount, make namespaces and cgroups for the containers it runs. It is its own type and goes through its
 * own engine call (DockerEngine.createDaemonSidecar), so that a runner spec can never carry `Privileged: true`.
 */
export interface DaemonSidecarHostConfig extends Omit<HostConfigSpec, 'Privileged'> {
  Privileged?: boolean;
}

export interface DaemonSidecarSpec extends Omit<EngineContainerSpec, 'hostConfig'> {
  hostConfig: DaemonSidecarHostConfig;
}

/** The label value a daemon sidecar must carry under `runnerhub.type`; the privileged path refuses anything else. */
export { DAEMON_SIDECAR_TYPE } from '@app/common';

/** A volume as the engine lists it. */
export interface VolumeSummary {
  name: string;
  driver: string;
  labels: Record<string, string>;
  /** Null when the engine does not say. */
  created: Date | null;
}

export interface RemoveVolumeResult {
  /** True when there was no such volume (engine 404), which is not a failure. */
  alreadyGone: boolean;
}

/** Everything RunnerHub asks the engine for when it creates a container. */
export interface EngineContainerSpec {
  name: string;
  image: string;
  cmd?: string[];
  /** Replaces the image's ENTRYPOINT; unset keeps it. */
  entrypoint?: string[];
  env?: string[];
  labels: Record<string, string>;
  user?: string;
  workingDir?: string;
  hostConfig: HostConfigSpec;
  networkDisabled?: boolean;
  stopSignal?: string;
  /** Seconds the engine waits after stopSignal before it kills, when a stop call gives no timeout of its own. */
  stopTimeout?: number;
}

/** The same spec under the name the create call uses. */
export type ContainerCreateSpec = EngineContainerSpec;

export type ContainerStatus = 'created' | 'running' | 'paused' | 'restarting' | 'removing' | 'exited' | 'dead';

export interface ContainerHealth {
  status: string;
  failingStreak: number;
}

export interface ContainerStateInfo {
  status: ContainerStatus;
  running: boolean;
  exitCode: number;
  oomKilled: boolean;
  /** Null until the container first starts. */
  startedAt: Date | null;
  /** Null until the container first stops. */
  finishedAt: Date | null;
  /** The engine's own reason when the container failed to start; empty otherwise. */
  error: string;
  health?: ContainerHealth;
}

/** The HostConfig subset as the engine reads it back: engine defaults filled in, absent lists as []. */
export interface InspectedHostConfig {
  CpuShares: number;
  CpuQuota: number;
  CpuPeriod: number;
  Memory: number;
  MemorySwap: number;
  /** Null when unlimited. */
  PidsLimit: number | null;
  CapDrop: string[];
  CapAdd: string[];
  SecurityOpt: string[];
  ReadonlyRootfs: boolean;
  Tmpfs: Record<string, string>;
  UsernsMode: string;
  StorageOpt: Record<string, string>;
  Init: boolean;
  NetworkMode: string;
  Privileged: boolean;
  Binds: string[];
}

export interface ContainerInspection {
  id: string;
  /** Without the engine's leading slash. */
  name: string;
  /** The image reference the container was created from, as given. */
  image: string;
  imageId: string;
  state: ContainerStateInfo;
  labels: Record<string, string>;
  user: string;
  workingDir: string;
  hostConfig: InspectedHostConfig;
  created: Date;
}

export interface ContainerSummary {
  id: string;
  /** Without the engine's leading slash. */
  names: string[];
  image: string;
  state: ContainerStatus;
  /** The engine's human summary, e.g. "Up 3 minutes" or "Exited (0) 2 seconds ago". */
  status: string;
  labels: Record<string, string>;
  created: Date;
}

export interface StopResult {
  /** True when the container was not running: the engine answered 304, which is not a failure. */
  alreadyStopped: boolean;
}

export interface StartResult {
  /** True when the container was already running (engine 304). */
  alreadyRunning: boolean;
}

export interface RemoveOptions {
  force?: boolean;
  /** Also remove the container's anonymous volumes. */
  volumes?: boolean;
}

export interface RemoveResult {
  /** True when there was nothing to remove (engine 404), which is not a failure. */
  alreadyGone: boolean;
}

export interface ListOptions {
  /** Include stopped containers; default true. */
  all?: boolean;
}

export interface ExecOptions {
  /** Argument vector; it is never handed to a shell, so nothing in it is interpreted. */
  command: string[];
  user?: string;
  workingDir?: string;
  env?: string[];
  /** Deadline for the whole exec, creation to exit code; default 30 000. */
  timeoutMs?: number;
  /** Cap on stdout plus stderr kept in memory; default 1 MiB. Beyond it output is read and dropped. */
  maxOutputBytes?: number;
}

export interface ExecResult {
  exitCode: number;
  stdout: string;
  stderr: string;
  /** stdout and stderr interleaved in the order the engine sent them. */
  output: string;
  /** True when output went over maxOutputBytes and the rest was dropped. */
  truncated: boolean;
}

export interface LogsOptions {
  /** Last N lines; default 100. */
  tail?: number;
  timestamps?: boolean;
  /** Only lines after this instant (a Date, or unix seconds). */
  since?: Date | number;
  /**
   * The most output to answer with: the newest lines whose text (UTF-8, with a newline each) fits; default 1 MiB.
   * The engine's stream is read through a tail of this size, never buffered whole.
   */
  maxBytes?: number;
}

export type OutputStream = 'stdout' | 'stderr';

export interface LogLine {
  stream: OutputStream;
  text: string;
  /** RFC 3339 with nanoseconds, as the engine wrote it; present only when timestamps were asked for. */
  timestamp?: string;
}

export interface LogsResult {
  lines: LogLine[];
  /** True when older lines (or the start of a line longer than maxBytes) were left out to stay within maxBytes. */
  truncated: boolean;
}

export interface ResourceUsage {
  /** Percent of one CPU, summed over CPUs (two busy cores read 200), as `docker stats` shows it. */
  cpuPercent: number;
  /** Bytes, without the inactive page cache, as `docker stats` shows it. */
  memoryUsage: number;
  memoryLimit: number;
  memoryPercent: number;
  networkRx: number;
  networkTx: number;
  blockRead: number;
  blockWrite: number;
  pids: number;
  sampledAt: Date;
}

export type EngineStreamStatus = 'connected' | 'disconnected';

export interface EngineEvent {
  /** 'container' for the events RunnerHub follows. */
  type: string;
  /** e.g. 'create', 'start', 'die', 'destroy', 'oom', 'health_status: healthy', 'exec_start: sh -c ...'. */
  action: string;
  id: string;
  attributes: Record<string, string>;
  /** Unix seconds. */
  time: number;
  /**
   * Unix nanoseconds as exact decimal digits: the value does not fit a JS number (2^53 is about 9e15) and the resume
   * position needs every digit. Compare with BigInt(timeNano).
   */
  timeNano: string;
}
