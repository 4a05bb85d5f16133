import type { ExecResult, LogsResult, ResourceUsage } from '@app/docker';
import type { ContainerRecordEntity, ContainerTransitionEntity } from '@app/persistence';
import { AppliedLimitsDto, ContainerDto, SecurityProfileDto } from './dto/container.dto';
import { ContainerLogsDto } from './dto/container-logs.dto';
import { ContainerTransitionDto } from './dto/container-transition.dto';
import { ExecResultDto } from './dto/exec-result.dto';
import { ResourceUsageDto } from './dto/resource-usage.dto';

/**
 * Entities and engine results never leave the service as they are: each response is built field by field here, so a
 * column added to an entity (or a secret someone stores by mistake) does not appear in the API by accident.
 */
/** `latest` is what monitoring knows of the container: its latest sample and its image's HEALTHCHECK status. */
export function toContainerDto(
  record: ContainerRecordEntity,
  latest?: { usage: ResourceUsage | null; health: string | null },
): ContainerDto {
  return {
    id: record.id,
    name: record.name,
    engineId: record.engineId,
    engineName: record.engineName,
    placement: record.placement,
    state: record.state,
    runnerId: record.runnerId,
    jobId: record.jobId,
    repository: record.repository,
    image: record.spec.image,
    imageDigest: record.spec.imageDigest ?? null,
    command: record.spec.command ?? null,
    entrypoint: record.spec.entrypoint ?? null,
    user: record.spec.user ?? null,
    workingDir: record.spec.workingDir ?? null,
    envNames: [...(record.spec.envNames ?? [])],
    labels: { ...(record.spec.labels ?? {}) },
    limits: toAppliedLimits(record.limits),
    security: toSecurityProfile(record.security),
    exitCode: record.exitCode,
    stateReason: record.stateReason,
    createdAt: record.createdAt,
    updatedAt: record.updatedAt,
    stateChangedAt: record.stateChangedAt,
    resourceUsage: latest?.usage ? toResourceUsageDto(latest.usage) : null,
    health: latest?.health ?? null,
  };
}

function toAppliedLimits(limits: Record<string, number | undefined>): AppliedLimitsDto {
  return {
    cpuShares: limits.cpuShares ?? 1024,
    cpuQuota: limits.cpuQuota ?? null,
    memoryMB: limits.memoryMB ?? null,
    diskGB: limits.diskGB ?? null,
    pidsLimit: limits.pidsLimit ?? 512,
  };
}

function toSecurityProfile(security: Record<string, unknown>): SecurityProfileDto {
  const strings = (value: unknown): string[] =>
    Array.isArray(value) ? value.filter((item): item is string => typeof item === 'string') : [];
  const profile = security.profile === 'standard' || security.profile === 'docker' ? security.profile : 'strict';
  return {
    profile,
    capDrop: strings(security.capDrop),
    capAdd: strings(security.capAdd),
    securityOpt: strings(security.securityOpt),
    privileged: false,
    readOnlyRootfs: security.readOnlyRootfs === true,
    tmpfs: strings(security.tmpfs),
    usernsMode: security.usernsMode === 'host' ? 'host' : null,
    network: typeof security.network === 'string' ? security.network : 'bridge',
    binds: strings(security.binds),
  };
}

export function toResourceUsageDto(usage: ResourceUsage): ResourceUsageDto {
  return {
    cpuPercent: usage.cpuPercent,
    memoryUsage: usage.memoryUsage,
    memoryLimit: usage.memoryLimit,
    memoryPercent: usage.memoryPercent,
    networkRx: usage.networkRx,
    networkTx: usage.networkTx,
    blockRead: usage.blockRead,
    blockWrite: usage.blockWrite,
    pids: usage.pids,
    sampledAt: usage.sampledAt,
  };
}

export function toExecResultDto(result: ExecResult): ExecResultDto {
  return {
    exitCode: result.exitCode,
    output: result.output,
    stdout: result.stdout,
    stderr: result.stderr,
    truncated: result.truncated,
  };
}

export function toContainerLogsDto(result: LogsResult): ContainerLogsDto {
  return {
    lines: result.lines.map((line) => ({
      stream: line.stream,
      text: line.text,
      ...(line.timestamp !== undefined ? { timestamp: line.timestamp } : {}),
    })),
    truncated: result.truncated,
  };
}

export function toContainerTransitionDto(row: ContainerTransitionEntity): ContainerTransitionDto {
  return {
    fromState: row.fromState,
    toState: row.toState,
    reason: row.reason,
    actor: row.actor,
    exitCode: row.exitCode,
    at: row.at,
  };
}
