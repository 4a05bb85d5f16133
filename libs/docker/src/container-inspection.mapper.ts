import type Dockerode from 'dockerode';
import type { ContainerInspection, ContainerStatus, ContainerSummary, InspectedHostConfig } from './engine.types';

/** The engine's raw HostConfig as it reads back: nulls where nothing was set, whatever @types/dockerode claims. */
type RawHostConfig = Partial<Record<keyof InspectedHostConfig, unknown>>;

export function toContainerInspection(raw: Dockerode.ContainerInspectInfo): ContainerInspection {
  const host = (raw.HostConfig ?? {}) as RawHostConfig;
  const health = raw.State.Health;
  return {
    id: raw.Id,
    name: raw.Name.replace(/^\//, ''),
    image: raw.Config.Image,
    imageId: raw.Image,
    state: {
      status: raw.State.Status as ContainerStatus,
      running: raw.State.Running,
      exitCode: raw.State.ExitCode,
      oomKilled: raw.State.OOMKilled,
      startedAt: engineInstant(raw.State.StartedAt),
      finishedAt: engineInstant(raw.State.FinishedAt),
      error: raw.State.Error ?? '',
      ...(health ? { health: { status: health.Status, failingStreak: health.FailingStreak } } : {}),
    },
    labels: raw.Config.Labels ?? {},
    user: raw.Config.User ?? '',
    workingDir: raw.Config.WorkingDir ?? '',
    hostConfig: {
      CpuShares: numberOr(host.CpuShares, 0),
      CpuQuota: numberOr(host.CpuQuota, 0),
      CpuPeriod: numberOr(host.CpuPeriod, 0),
      Memory: numberOr(host.Memory, 0),
      MemorySwap: numberOr(host.MemorySwap, 0),
      // The engine reads back null, 0 or -1 for "no limit" depending on version and how it was set.
      PidsLimit: typeof host.PidsLimit === 'number' && host.PidsLimit > 0 ? host.PidsLimit : null,
      CapDrop: stringList(host.CapDrop),
      CapAdd: stringList(host.CapAdd),
      SecurityOpt: stringList(host.SecurityOpt),
      ReadonlyRootfs: host.ReadonlyRootfs === true,
      Tmpfs: stringMap(host.Tmpfs),
      UsernsMode: typeof host.UsernsMode === 'string' ? host.UsernsMode : '',
      StorageOpt: stringMap(host.StorageOpt),
      Init: host.Init === true,
      NetworkMode: typeof host.NetworkMode === 'string' ? host.NetworkMode : '',
      Privileged: host.Privileged === true,
      Binds: stringList(host.Binds),
    },
    created: new Date(raw.Created),
  };
}

export function toContainerSummary(raw: Dockerode.ContainerInfo): ContainerSummary {
  return {
    id: raw.Id,
    names: (raw.Names ?? []).map((name) => name.replace(/^\//, '')),
    image: raw.Image,
    state: raw.State as ContainerStatus,
    status: raw.Status,
    labels: raw.Labels ?? {},
    created: new Date(raw.Created * 1000),
  };
}

/** The engine writes the zero time (year 1) for "never"; callers get null instead of a date two thousand years ago. */
function engineInstant(value: string | undefined): Date | null {
  if (!value || value.startsWith('0001-')) return null;
  const instant = new Date(value);
  return Number.isNaN(instant.getTime()) ? null : instant;
}

function numberOr(value: unknown, fallback: number): number {
  return typeof value === 'number' ? value : fallback;
}

function stringList(value: unknown): string[] {
  return Array.isArray(value) ? value.filter((item): item is string => typeof item === 'string') : [];
}

function stringMap(value: unknown): Record<string, string> {
  if (!value || typeof value !== 'object') return {};
  return Object.fromEntries(
    Object.entries(value).filter((entry): entry is [string, string] => typeof entry[1] === 'string'),
  );
}
