/** What to run: the image and how to run it. `env` values may be secrets: they go to the engine and nowhere else. */
export interface ContainerConfig {
  image: string;
  env?: Record<string, string>;
  labels?: Record<string, string>;
  command?: string[];
  user?: string;
  workingDir?: string;
  /** `owner/name` of the repository the job belongs to; also the `runnerhub.repository` label. */
  repository?: string;
  /** `runnerhub.type` label; `ephemeral` unless said otherwise. */
  type?: string;
}

/** Resource limits. Absent values take the defaults (cpuShares 1024, pidsLimit 512) or stay unlimited. */
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
  /** Read-only root filesystem; scratch paths (`tmpfs`) are then mounted as tmpfs. */
  readOnlyRootfs?: boolean;
  /** Scratch paths for a read-only root; default /tmp and the working directory. */
  tmpfs?: string[];
  /** `host` to opt out of the engine's user-namespace remapping; unset keeps the engine's default (private). */
  usernsMode?: 'host';
  /** Capabilities to add back after dropping ALL; each must be in SECURITY_ALLOWED_CAPABILITIES. */
  capAdd?: string[];
  /** Extra security options (seccomp, apparmor profiles); each must be in SECURITY_ALLOWED_SECURITY_OPTS. */
  securityOpt?: string[];
  /** Host bind mounts `host:container[:ro]`; each host path must lie under SECURITY_ALLOWED_BIND_MOUNTS. */
  binds?: string[];
}

export const DEFAULT_CPU_SHARES = 1024;
export const DEFAULT_PIDS_LIMIT = 512;
export const CPU_PERIOD_MICROSECONDS = 100_000;
