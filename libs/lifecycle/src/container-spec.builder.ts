import {
  AppConfig,
  DAEMON_SIDECAR_TYPE,
  DomainError,
  ErrorCode,
  RUNNER_PROFILE_NAMES,
  RunnerHubLabel,
  RunnerProfileName,
} from '@app/common';
import type { EngineContainerSpec, VolumeMountSpec } from '@app/docker';
import { Injectable } from '@nestjs/common';
import {
  ContainerConfig,
  ContainerLimits,
  CPU_PERIOD_MICROSECONDS,
  DEFAULT_CPU_SHARES,
  DOCKER_DEFAULT_CAPABILITIES,
  SecurityOptions,
} from './container-request';
import { bindMountsOf, HostBindMounts } from './host-bind-mounts';

/** What a `docker` profile runner needs of its own daemon (see DockerDaemonSidecars). */
export interface DaemonAttachment {
  networkMode: string;
  mounts: VolumeMountSpec[];
  env: Record<string, string>;
}

export interface ContainerIdentity {
  recordId: string;
  name: string;
  runnerId: string | null;
  jobId: string | null;
}

/** Limits as applied: memory, CPU quota and processes are always bounded (the configured defaults when unasked). */
export interface ResolvedLimits {
  cpuShares: number;
  cpuQuota: number;
  memoryMB: number;
  diskGB?: number;
  pidsLimit: number;
}

/** The security profile as applied, stored with the record and shown by the API. */
export interface ResolvedSecurity {
  /** The named profile the rest was derived from (`strict` for containers made through the API). */
  profile: RunnerProfileName;
  capDrop: string[];
  capAdd: string[];
  securityOpt: string[];
  privileged: false;
  readOnlyRootfs: boolean;
  tmpfs: string[];
  usernsMode?: 'host';
  network: string;
  /** As mounted: `<resolved host path>:<container path>:ro`. */
  binds: string[];
}

interface Problem {
  field: string;
  message: string;
}

const MEBIBYTE = 1024 * 1024;
const IMAGE_REFERENCE = /^[a-z0-9][a-z0-9._\-/:@]*$/i;
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const CAPABILITY = /^(CAP_)?[A-Z_]+$/;
/** RunnerHub's own label namespace: the reconciler, cleanup and the daemon sidecars trust what is under it. */
const RESERVED_LABEL_PREFIX = 'runnerhub.';

/**
 * Turns a request for a runner container into exactly what the engine is asked for: limits checked against the
 * configured ceilings (and the configured defaults where none is asked for: never unlimited), the locked-down
 * default profile (no capabilities, no-new-privileges, never privileged, its own network namespace, no host mounts),
 * loosened only where configuration allows it, and RunnerHub's labels. Every problem is reported at once, before
 * anything reaches the engine or the database.
 */
@Injectable()
export class ContainerSpecBuilder {
  constructor(
    private readonly config: AppConfig,
    private readonly hostBinds: HostBindMounts,
  ) {}

  async resolve(
    request: ContainerConfig,
    limits: ContainerLimits = {},
    security: SecurityOptions = {},
  ): Promise<{ limits: ResolvedLimits; security: ResolvedSecurity }> {
    const limitProblems = this.checkLimits(limits);
    const applied = this.applyDefaults(limits);
    const scratch = security.readOnlyRootfs
      ? [...new Set(security.tmpfs ?? ['/tmp', request.workingDir ?? '/work'])]
      : [];
    const binds = await this.hostBinds.resolve(security.binds ?? [], request.user);
    const problems = [
      ...this.checkConfig(request),
      ...limitProblems,
      ...this.checkSecurity(security),
      ...binds.problems,
      // Only against a memory limit that is itself valid: one problem at a time for the same field.
      ...(limitProblems.some((p) => p.field === 'limits.memoryMB') ? [] : this.checkScratchFits(scratch, applied)),
    ];
    if (problems.length > 0) {
      throw new DomainError(
        ErrorCode.ValidationFailed,
        `The container request is invalid: ${problems.map((p) => `${p.field} ${p.message}`).join('; ')}`,
        { problems },
      );
    }
    this.requirePermitted(security);
    const profile = security.profile ?? 'strict';
    // Profiles come from the operator's configuration, not from a caller, so they bypass the SECURITY_ALLOWED_* lists.
    const sudoCapable = profile !== 'strict';
    const capAdd = [
      ...new Set([
        ...(sudoCapable ? DOCKER_DEFAULT_CAPABILITIES : []),
        ...(security.capAdd ?? []).map(normaliseCapability),
      ]),
    ];
    return {
      limits: applied,
      security: {
        profile,
        capDrop: ['ALL'],
        capAdd,
        // sudo is a setuid program: under no-new-privileges it cannot become root, whatever the capabilities.
        securityOpt: [...(sudoCapable ? [] : ['no-new-privileges']), ...(security.securityOpt ?? [])],
        privileged: false,
        readOnlyRootfs: security.readOnlyRootfs ?? false,
        tmpfs: scratch,
        usernsMode: security.usernsMode,
        network: this.config.containers.network,
        binds: binds.binds,
      },
    };
  }

  /**
   * The engine's create body. A `docker` profile runner comes with its daemon's attachment: it joins the daemon's
   * network namespace, mounts the unit's volumes (its socket and work directory) and finds the daemon by DOCKER_HOST.
   */
  build(
    identity: ContainerIdentity,
    request: ContainerConfig,
    limits: ResolvedLimits,
    security: ResolvedSecurity,
    daemon?: DaemonAttachment,
  ): EngineContainerSpec {
    const env = { ...request.env, ...daemon?.env };
    const mounts = [...(daemon?.mounts ?? []), ...bindMountsOf(security.binds)];
    return {
      name: identity.name,
      image: request.image,
      cmd: request.command,
      entrypoint: request.entrypoint,
      env: Object.entries(env).map(([name, value]) => `${name}=${value}`),
      labels: this.labels(identity, request),
      user: request.user,
      workingDir: request.workingDir,
      hostConfig: {
        CpuShares: limits.cpuShares,
        CpuQuota: limits.cpuQuota,
        CpuPeriod: CPU_PERIOD_MICROSECONDS,
        // Memory and swap equal: the container gets no swap, so a runaway job is OOM-killed, not the host slowed.
        Memory: limits.memoryMB * MEBIBYTE,
        MemorySwap: limits.memoryMB * MEBIBYTE,
        PidsLimit: limits.pidsLimit,
        ...(limits.diskGB !== undefined ? { StorageOpt: { size: `${limits.diskGB}G` } } : {}),
        CapDrop: security.capDrop,
        CapAdd: security.capAdd,
        SecurityOpt: security.securityOpt,
        Privileged: false,
        ReadonlyRootfs: security.readOnlyRootfs,
        Tmpfs: Object.fromEntries(
          security.tmpfs.map((path) => [path, `rw,noexec,nosuid,size=${this.config.containers.tmpfsSizeMB}m`]),
        ),
        ...(security.usernsMode ? { UsernsMode: security.usernsMode } : {}),
        NetworkMode: daemon?.networkMode ?? security.network,
        ...(mounts.length > 0 ? { Mounts: mounts } : {}),
        // A tiny init as PID 1 forwards SIGTERM and reaps zombies: stop takes milliseconds instead of the timeout.
        Init: true,
      },
    };
  }

  private labels(identity: ContainerIdentity, request: ContainerConfig): Record<string, string> {
    const own: Record<string, string> = {
      [RunnerHubLabel.Managed]: 'true',
      [RunnerHubLabel.Type]: request.type ?? 'ephemeral',
      [RunnerHubLabel.Record]: identity.recordId,
    };
    if (identity.jobId) own[RunnerHubLabel.Job] = identity.jobId;
    if (identity.runnerId) own[RunnerHubLabel.Runner] = identity.runnerId;
    if (request.repository) own[RunnerHubLabel.Repository] = request.repository;
    // resolve() refused them already; this keeps a spec built without it from carrying any.
    const callers = Object.fromEntries(Object.entries(request.labels ?? {}).filter(([key]) => !isReserved(key)));
    return { ...callers, ...own };
  }

  /** Limits as applied: what was asked for, and the configured defaults for memory, CPU and processes otherwise. */
  private applyDefaults(limits: ContainerLimits): ResolvedLimits {
    const { defaults } = this.config.containers;
    return {
      cpuShares: limits.cpuShares ?? DEFAULT_CPU_SHARES,
      cpuQuota: limits.cpuQuota ?? defaults.cpus * CPU_PERIOD_MICROSECONDS,
      memoryMB: limits.memoryMB ?? defaults.memoryMB,
      diskGB: limits.diskGB,
      pidsLimit: limits.pidsLimit ?? defaults.pidsLimit,
    };
  }

  /**
   * A tmpfs lives in memory, and its pages are charged to the container's memory cgroup: scratch mounts that could
   * fill the whole limit would leave the job nothing to run in.
   */
  private checkScratchFits(scratch: string[], limits: ResolvedLimits): Problem[] {
    const size = this.config.containers.tmpfsSizeMB;
    const total = scratch.length * size;
    if (scratch.length === 0 || total < limits.memoryMB) return [];
    const need = `${scratch.length} scratch tmpfs of ${size} MiB (TMPFS_SIZE_MB) take ${total} MiB`;
    return [
      {
        field: 'limits.memoryMB',
        message: `must be more than ${total} MiB: ${need}, charged to the container's memory (got ${limits.memoryMB})`,
      },
      {
        field: 'security.tmpfs',
        message: `${need}, all of limits.memoryMB (${limits.memoryMB}): name fewer paths or ask for more memory`,
      },
    ];
  }

  /** Loosenings the operator has to switch on explicitly: asking for one while it is off is not permitted (403). */
  private requirePermitted(security: SecurityOptions): void {
    if (security.usernsMode === 'host' && !this.config.containers.allowUsernsHost) {
      throw new DomainError(
        ErrorCode.NotPermitted,
        "security.usernsMode host is not permitted: it leaves the engine's user-namespace remapping, so root in the " +
          'container is root on the host. An operator may allow it with SECURITY_ALLOW_USERNS_HOST=true',
        { field: 'security.usernsMode', setting: 'SECURITY_ALLOW_USERNS_HOST' },
      );
    }
  }

  /**
   * Caller labels: `runnerhub.*` is RunnerHub's own (the reconciler and cleanup act on it: a caller claiming
   * `runnerhub.type=dind` would hide a container from both), and every other key must start with an allowed prefix,
   * so that no caller can set labels another tool on the engine obeys (a reverse proxy routing by `traefik.*`).
   */
  private checkLabels(labels: Record<string, string>): Problem[] {
    const prefixes = this.config.containers.labelPrefixes;
    const problems: Problem[] = [];
    for (const [key, value] of Object.entries(labels)) {
      const field = `config.labels.${key}`;
      if (isReserved(key)) {
        problems.push({ field, message: 'is reserved: runnerhub.* labels are set by RunnerHub itself' });
      } else if (!prefixes.some((prefix) => key.startsWith(prefix) && key.length > prefix.length)) {
        problems.push({
          field,
          message: `is not allowed: label keys must start with one of ${prefixes.join(', ')} (CONTAINER_LABEL_PREFIXES)`,
        });
      }
      if (typeof value !== 'string') problems.push({ field, message: 'must be a string' });
    }
    return problems;
  }

  private checkConfig(request: ContainerConfig): Problem[] {
    const problems: Problem[] = [];
    if (!request.image || !IMAGE_REFERENCE.test(request.image)) {
      problems.push({ field: 'config.image', message: 'must be an image reference such as owner/image:tag' });
    }
    for (const name of Object.keys(request.env ?? {})) {
      if (!ENV_NAME.test(name)) problems.push({ field: `config.env.${name}`, message: 'is not a valid variable name' });
    }
    problems.push(...this.checkLabels(request.labels ?? {}));
    if (request.type === DAEMON_SIDECAR_TYPE) {
      problems.push({
        field: 'config.type',
        message: `must not be ${DAEMON_SIDECAR_TYPE}: only a runner's own Docker daemon is one, and RunnerHub makes those`,
      });
    }
    if (request.command && (request.command.length === 0 || request.command.some((a) => typeof a !== 'string'))) {
      problems.push({ field: 'config.command', message: 'must be a non-empty array of strings' });
    }
    if (request.workingDir !== undefined && !request.workingDir.startsWith('/')) {
      problems.push({ field: 'config.workingDir', message: 'must be an absolute path' });
    }
    return problems;
  }

  private checkLimits(limits: ContainerLimits): Problem[] {
    const { maxMemoryMB, maxCpus, maxPids, maxDiskGB } = this.config.containers;
    return [
      range('limits.cpuShares', limits.cpuShares, 2, 262_144),
      range('limits.cpuQuota', limits.cpuQuota, 1_000, maxCpus * CPU_PERIOD_MICROSECONDS, `${maxCpus} CPUs`),
      range('limits.memoryMB', limits.memoryMB, 6, maxMemoryMB),
      range('limits.diskGB', limits.diskGB, 1, maxDiskGB),
      range('limits.pidsLimit', limits.pidsLimit, 16, maxPids),
    ].filter((p): p is Problem => p !== null);
  }

  private checkSecurity(security: SecurityOptions): Problem[] {
    const { allowedCapabilities, allowedSecurityOpts } = this.config.containers;
    const problems: Problem[] = [];
    const allowedCaps = new Set(allowedCapabilities.map(normaliseCapability));
    for (const cap of security.capAdd ?? []) {
      if (!CAPABILITY.test(normaliseCapability(cap)) || !allowedCaps.has(normaliseCapability(cap))) {
        problems.push({
          field: 'security.capAdd',
          message: `${cap} is not allowed (allowed: ${[...allowedCaps].join(', ') || 'none'}; see SECURITY_ALLOWED_CAPABILITIES)`,
        });
      }
    }
    for (const option of security.securityOpt ?? []) {
      if (!allowedSecurityOpts.includes(option)) {
        problems.push({
          field: 'security.securityOpt',
          message: `${option} is not allowed (see SECURITY_ALLOWED_SECURITY_OPTS)`,
        });
      }
    }
    for (const path of security.tmpfs ?? []) {
      if (!path.startsWith('/') || path.includes(':')) {
        problems.push({ field: 'security.tmpfs', message: `${path} must be an absolute container path` });
      }
    }
    if (security.profile !== undefined && !RUNNER_PROFILE_NAMES.includes(security.profile)) {
      problems.push({ field: 'security.profile', message: `must be one of ${RUNNER_PROFILE_NAMES.join(', ')}` });
    }
    if (security.usernsMode !== undefined && security.usernsMode !== 'host') {
      problems.push({ field: 'security.usernsMode', message: 'must be host or left unset' });
    }
    return problems;
  }
}

function range(field: string, value: number | undefined, min: number, max: number, maxLabel?: string): Problem | null {
  if (value === undefined) return null;
  if (!Number.isInteger(value) || value < min || value > max) {
    return {
      field,
      message: `must be an integer from ${min} to ${max}${maxLabel ? ` (${maxLabel})` : ''}, got ${value}`,
    };
  }
  return null;
}

function normaliseCapability(cap: string): string {
  return cap.toUpperCase().replace(/^CAP_/, '');
}

function isReserved(key: string): boolean {
  return key.toLowerCase().startsWith(RESERVED_LABEL_PREFIX);
}
