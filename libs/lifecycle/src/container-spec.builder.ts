import {
  AppConfig,
  DomainError,
  ErrorCode,
  RESERVED_LABELS,
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
  DEFAULT_PIDS_LIMIT,
  DOCKER_DEFAULT_CAPABILITIES,
  SecurityOptions,
} from './container-request';

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

export interface ResolvedLimits {
  cpuShares: number;
  cpuQuota?: number;
  memoryMB?: number;
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

/**
 * Turns a request for a runner container into exactly what the engine is asked for: limits checked against the
 * configured ceilings, the locked-down default profile (no capabilities, no-new-privileges, never privileged, its
 * own network namespace, no host mounts), loosened only where configuration allows it, and RunnerHub's labels.
 * Every problem is reported at once, before anything reaches the engine or the database.
 */
@Injectable()
export class ContainerSpecBuilder {
  constructor(private readonly config: AppConfig) {}

  resolve(
    request: ContainerConfig,
    limits: ContainerLimits = {},
    security: SecurityOptions = {},
  ): { limits: ResolvedLimits; security: ResolvedSecurity } {
    const problems = [...this.checkConfig(request), ...this.checkLimits(limits), ...this.checkSecurity(security)];
    if (problems.length > 0) {
      throw new DomainError(
        ErrorCode.ValidationFailed,
        `The container request is invalid: ${problems.map((p) => `${p.field} ${p.message}`).join('; ')}`,
        { problems },
      );
    }
    const scratch = security.tmpfs ?? ['/tmp', request.workingDir ?? '/work'];
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
      limits: {
        cpuShares: limits.cpuShares ?? DEFAULT_CPU_SHARES,
        cpuQuota: limits.cpuQuota,
        memoryMB: limits.memoryMB,
        diskGB: limits.diskGB,
        pidsLimit: limits.pidsLimit ?? DEFAULT_PIDS_LIMIT,
      },
      security: {
        profile,
        capDrop: ['ALL'],
        capAdd,
        // sudo is a setuid program: under no-new-privileges it cannot become root, whatever the capabilities.
        securityOpt: [...(sudoCapable ? [] : ['no-new-privileges']), ...(security.securityOpt ?? [])],
        privileged: false,
        readOnlyRootfs: security.readOnlyRootfs ?? false,
        tmpfs: security.readOnlyRootfs ? [...new Set(scratch)] : [],
        usernsMode: security.usernsMode,
        network: this.config.containers.network,
        binds: security.binds ?? [],
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
        ...(limits.cpuQuota !== undefined ? { CpuQuota: limits.cpuQuota, CpuPeriod: CPU_PERIOD_MICROSECONDS } : {}),
        // Memory and swap equal: the container gets no swap, so a runaway job is OOM-killed, not the host slowed.
        ...(limits.memoryMB !== undefined
          ? { Memory: limits.memoryMB * MEBIBYTE, MemorySwap: limits.memoryMB * MEBIBYTE }
          : {}),
        PidsLimit: limits.pidsLimit,
        ...(limits.diskGB !== undefined ? { StorageOpt: { size: `${limits.diskGB}G` } } : {}),
        CapDrop: security.capDrop,
        CapAdd: security.capAdd,
        SecurityOpt: security.securityOpt,
        Privileged: false,
        ReadonlyRootfs: security.readOnlyRootfs,
        Tmpfs: Object.fromEntries(security.tmpfs.map((path) => [path, 'rw,noexec,nosuid,size=256m'])),
        ...(security.usernsMode ? { UsernsMode: security.usernsMode } : {}),
        NetworkMode: daemon?.networkMode ?? security.network,
        Binds: security.binds,
        ...(daemon ? { Mounts: daemon.mounts } : {}),
        // A tiny init as PID 1 forwards SIGTERM and reaps zombies: stop takes milliseconds instead of the timeout.
        Init: true,
      },
    };
  }

  private labels(identity: ContainerIdentity, request: ContainerConfig): Record<string, string> {
    const own: Record<string, string> = {
      [RunnerHubLabel.Managed]: 'true',
      [RunnerHubLabel.Type]: request.type ?? request.labels?.[RunnerHubLabel.Type] ?? 'ephemeral',
      [RunnerHubLabel.Record]: identity.recordId,
    };
    if (identity.jobId) own[RunnerHubLabel.Job] = identity.jobId;
    if (identity.runnerId) own[RunnerHubLabel.Runner] = identity.runnerId;
    if (request.repository) own[RunnerHubLabel.Repository] = request.repository;
    const callers = Object.fromEntries(
      Object.entries(request.labels ?? {}).filter(([key]) => !RESERVED_LABELS.has(key)),
    );
    return { ...callers, ...own };
  }

  private checkConfig(request: ContainerConfig): Problem[] {
    const problems: Problem[] = [];
    if (!request.image || !IMAGE_REFERENCE.test(request.image)) {
      problems.push({ field: 'config.image', message: 'must be an image reference such as owner/image:tag' });
    }
    for (const name of Object.keys(request.env ?? {})) {
      if (!ENV_NAME.test(name)) problems.push({ field: `config.env.${name}`, message: 'is not a valid variable name' });
    }
    for (const [key, value] of Object.entries(request.labels ?? {})) {
      if (RESERVED_LABELS.has(key) && key !== RunnerHubLabel.Job) {
        problems.push({ field: `config.labels.${key}`, message: 'is set by RunnerHub itself and cannot be given' });
      }
      if (typeof value !== 'string') problems.push({ field: `config.labels.${key}`, message: 'must be a string' });
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
    const { allowedCapabilities, allowedSecurityOpts, allowedBindMountPrefixes } = this.config.containers;
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
    for (const bind of security.binds ?? []) {
      const [hostPath, containerPath] = bind.split(':');
      const allowed =
        hostPath?.startsWith('/') &&
        !hostPath.split('/').includes('..') &&
        containerPath?.startsWith('/') &&
        allowedBindMountPrefixes.some(
          (prefix) => hostPath === prefix || hostPath.startsWith(`${prefix.replace(/\/$/, '')}/`),
        );
      if (!allowed) {
        problems.push({
          field: 'security.binds',
          message: `${bind} is not allowed: host paths must lie under SECURITY_ALLOWED_BIND_MOUNTS (now: ${allowedBindMountPrefixes.join(', ') || 'none'})`,
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
