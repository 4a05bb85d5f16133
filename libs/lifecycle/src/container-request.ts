import type { RunnerProfileName } from '@app/common';

/** What to run: the image and how to run it. `env` values may be secrets: they go to the engine and nowhere else. */
export interface ContainerConfig {
  image: string;
  /** The digest the image was pulled at (sha256:...), kept with the record; the engine is asked for `image`. */
  imageDigest?: string;
  env?: Record<string, string>;
  /** Keys must start with a CONTAINER_LABEL_PREFIXES prefix; `runnerhub.*` is RunnerHub's own. */
  labels?: Record<string, string>;
  command?: string[];
  /** Replaces the image's ENTRYPOINT; unset keeps it. */
  entrypoint?: string[];
  user?: string;
  workingDir?: string;
  /** `owner/name` of the repository the job belongs to; also the `runnerhub.repository` label. */
  repository?: string;
  /** `runnerhub.type` label; `ephemeral` unless said otherwise, never `dind` (a runner's daemon, RunnerHub's own). */
  type?: string;
}

/**
 * Resource limits. Absent values take the defaults: cpuShares 1024, and memory, CPU quota and processes from
 * DEFAULT_MEMORY_MB, DEFAULT_CPUS and DEFAULT_PIDS. Nothing is left unlimited.
 */
export interface ContainerLimits {
  /** Relative CPU weight (1024 = one CPU's share). */
  cpuShares?: number;
  /** Microseconds of CPU per 100 ms period: 50000 is half a CPU, 200000 two CPUs. */
  cpuQuota?: number;
  memoryMB?: number;
  diskGB?: number;
  pidsLimit?: number;
}

/** Options over the locked-down default profile. Anything that loosens it must be allowed in configuration. */
export interface SecurityOptions {
  /**
   * A named runner profile chosen from configuration (RUNNER_PROFILES), never from an API caller: `strict` is the
   * default profile; `standard` and `docker` drop no-new-privileges and add Docker's default capabilities back, so
   * that `sudo` works inside the runner.
   */
  profile?: RunnerProfileName;
  /** Read-only root filesystem; scratch paths (`tmpfs`) are then mounted as tmpfs. */
  readOnlyRootfs?: boolean;
  /** Scratch paths for a read-only root; default /tmp and the working directory. */
  tmpfs?: string[];
  /**
   * `host` to opt out of the engine's user-namespace remapping; unset keeps the engine's default (private). Refused
   * (NOT_PERMITTED) unless SECURITY_ALLOW_USERNS_HOST is set.
   */
  usernsMode?: 'host';
  /** Capabilities to add back after dropping ALL; each must be in SECURITY_ALLOWED_CAPABILITIES. */
  capAdd?: string[];
  /** Extra security options (seccomp, apparmor profiles); each must be in SECURITY_ALLOWED_SECURITY_OPTS. */
  securityOpt?: string[];
  /**
   * Host bind mounts `host:container` (`:ro` may be added; no other mode): each host path, symlinks resolved, must lie
   * under SECURITY_ALLOWED_BIND_MOUNTS; always mounted read-only, and only for a numeric non-root `user`.
   */
  binds?: string[];
}

/**
 * What `sudo` and package installs inside a runner need: Docker's default capability set (moby oci/caps/defaults.go)
 * less MKNOD and NET_RAW, which no job step needs and which make device nodes and raw (spoofable) packets possible.
 * The `standard` and `docker` profiles add exactly these back.
 */
export const DOCKER_DEFAULT_CAPABILITIES = [
  'CHOWN',
  'DAC_OVERRIDE',
  'FOWNER',
  'FSETID',
  'KILL',
  'SETGID',
  'SETUID',
  'SETPCAP',
  'SETFCAP',
  'NET_BIND_SERVICE',
  'SYS_CHROOT',
  'AUDIT_WRITE',
] as const;

export const DEFAULT_CPU_SHARES = 1024;
export const CPU_PERIOD_MICROSECONDS = 100_000;
