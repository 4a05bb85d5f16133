import { DomainError, ErrorCode } from '@app/common';
import type Dockerode from 'dockerode';
import { DAEMON_SIDECAR_TYPE } from './engine.types';
import type { DaemonSidecarSpec, EngineContainerSpec, HostConfigSpec } from './engine.types';

/** The only HostConfig keys that reach the engine: a spec built at runtime cannot smuggle in anything else. */
const HOST_CONFIG_KEYS = [
  'CpuShares',
  'CpuQuota',
  'CpuPeriod',
  'Memory',
  'MemorySwap',
  'PidsLimit',
  'CapDrop',
  'CapAdd',
  'SecurityOpt',
  'ReadonlyRootfs',
  'Tmpfs',
  'UsernsMode',
  'StorageOpt',
  'Init',
  'NetworkMode',
  'Binds',
  'Mounts',
] as const satisfies ReadonlyArray<keyof HostConfigSpec>;

/** Builds the engine's create body from a spec, refusing what RunnerHub never asks for. */
export function toCreateOptions(spec: EngineContainerSpec): Dockerode.ContainerCreateOptions {
  const problems: string[] = [];
  if (!spec.name) problems.push('name is required');
  if (!spec.image) problems.push('image is required');
  if (spec.cmd !== undefined && (!Array.isArray(spec.cmd) || spec.cmd.some((arg) => typeof arg !== 'string'))) {
    problems.push('cmd must be an array of strings');
  }
  if (
    spec.entrypoint !== undefined &&
    (!Array.isArray(spec.entrypoint) || spec.entrypoint.some((arg) => typeof arg !== 'string'))
  ) {
    problems.push('entrypoint must be an array of strings');
  }
  // The type already says false; this guards callers that build the spec from untyped input.
  if ((spec.hostConfig as { Privileged?: unknown }).Privileged === true) {
    problems.push('hostConfig.Privileged must be false: RunnerHub never runs privileged containers');
  }
  if (!onlyVolumesAndReadOnlyBinds(spec.hostConfig.Mounts)) {
    problems.push(
      'hostConfig.Mounts may hold only named volumes (Type volume, a volume name, an absolute Target) and read-only ' +
        'bind mounts (Type bind, ReadOnly true, absolute Source and Target without "..")',
    );
  }
  if (problems.length > 0) {
    throw new DomainError(ErrorCode.ValidationFailed, `Container spec refused: ${problems.join('; ')}`, {
      name: spec.name,
      problems,
    });
  }

  const hostConfig: Dockerode.HostConfig = { Privileged: false };
  for (const key of HOST_CONFIG_KEYS) {
    if (spec.hostConfig[key] !== undefined) Object.assign(hostConfig, { [key]: spec.hostConfig[key] });
  }
  return {
    name: spec.name,
    Image: spec.image,
    Cmd: spec.cmd,
    ...(spec.entrypoint !== undefined ? { Entrypoint: spec.entrypoint } : {}),
    Env: spec.env,
    Labels: spec.labels,
    User: spec.user,
    WorkingDir: spec.workingDir,
    NetworkDisabled: spec.networkDisabled,
    StopSignal: spec.stopSignal,
    StopTimeout: spec.stopTimeout,
    // No TTY and no stdin: logs and exec output then stay multiplexed, which is what the demultiplexer expects.
    Tty: false,
    OpenStdin: false,
    AttachStdin: false,
    HostConfig: hostConfig,
  };
}

/**
 * The create body of a job's own Docker daemon (the `docker` runner profile): the only container that may be
 * privileged. It must say what it is (label runnerhub.type=dind), so that this path cannot be borrowed to make a
 * privileged runner; everything else is checked exactly as for any other container.
 */
export function toDaemonSidecarCreateOptions(spec: DaemonSidecarSpec): Dockerode.ContainerCreateOptions {
  const { Privileged: privileged, ...hostConfig } = spec.hostConfig;
  if (spec.labels?.['runnerhub.type'] !== DAEMON_SIDECAR_TYPE) {
    throw new DomainError(
      ErrorCode.ValidationFailed,
      `Container spec refused: a daemon sidecar must carry the label runnerhub.type=${DAEMON_SIDECAR_TYPE}`,
      { name: spec.name, problems: [`label runnerhub.type must be ${DAEMON_SIDECAR_TYPE}`] },
    );
  }
  const options = toCreateOptions({ ...spec, hostConfig });
  return { ...options, HostConfig: { ...options.HostConfig, Privileged: privileged === true } };
}

function onlyVolumesAndReadOnlyBinds(mounts: unknown): boolean {
  if (mounts === undefined) return true;
  return (
    Array.isArray(mounts) &&
    mounts.every((mount: unknown) => {
      const m = mount as Record<string, unknown> | null;
      if (!m || typeof m.Target !== 'string' || !m.Target.startsWith('/') || typeof m.Source !== 'string') return false;
      if (m.Type === 'volume') return /^[a-zA-Z0-9][a-zA-Z0-9_.-]+$/.test(m.Source);
      // The host path was resolved and checked by the lifecycle; this guards a spec built from untyped input.
      return (
        m.Type === 'bind' &&
        m.ReadOnly === true &&
        m.Source.startsWith('/') &&
        !m.Source.split('/').includes('..') &&
        !m.Target.split('/').includes('..')
      );
    })
  );
}
