import { DomainError, ErrorCode } from '@app/common';
import { toCreateOptions } from './container-spec.mapper';
import type { EngineContainerSpec } from './engine.types';

const base: EngineContainerSpec = {
  name: 'runner-1',
  image: 'runnerhub-test/busybox:1',
  cmd: ['sleep', '60'],
  env: ['A=1'],
  labels: { 'runnerhub.managed': 'true' },
  user: 'runner',
  workingDir: '/work',
  hostConfig: { Memory: 64 * 1024 * 1024, CapDrop: ['ALL'], Init: true, NetworkMode: 'none' },
  stopSignal: 'SIGTERM',
  stopTimeout: 5,
};

function thrownBy(action: () => unknown): unknown {
  try {
    action();
  } catch (error) {
    return error;
  }
  throw new Error('expected the call to throw');
}

describe('toCreateOptions', () => {
  it('maps the spec to the engine body, never privileged and never with a TTY', () => {
    expect(toCreateOptions(base)).toEqual({
      name: 'runner-1',
      Image: 'runnerhub-test/busybox:1',
      Cmd: ['sleep', '60'],
      Env: ['A=1'],
      Labels: { 'runnerhub.managed': 'true' },
      User: 'runner',
      WorkingDir: '/work',
      NetworkDisabled: undefined,
      StopSignal: 'SIGTERM',
      StopTimeout: 5,
      Tty: false,
      OpenStdin: false,
      AttachStdin: false,
      HostConfig: { Privileged: false, Memory: 64 * 1024 * 1024, CapDrop: ['ALL'], Init: true, NetworkMode: 'none' },
    });
  });

  it('refuses Privileged: true from untyped input before anything reaches the engine', () => {
    const spec = { ...base, hostConfig: { ...base.hostConfig, Privileged: true } } as unknown as EngineContainerSpec;
    const error = thrownBy(() => toCreateOptions(spec));
    expect(error).toBeInstanceOf(DomainError);
    expect(error).toMatchObject({
      code: ErrorCode.ValidationFailed,
      message: expect.stringMatching(/Privileged must be false/),
    });
  });

  it('drops HostConfig keys outside the supported subset', () => {
    const spec = {
      ...base,
      hostConfig: { ...base.hostConfig, PidMode: 'host', Devices: [{ PathOnHost: '/dev/kmsg' }] },
    } as unknown as EngineContainerSpec;
    expect(Object.keys(toCreateOptions(spec).HostConfig ?? {}).sort()).toEqual([
      'CapDrop',
      'Init',
      'Memory',
      'NetworkMode',
      'Privileged',
    ]);
  });

  it('refuses a command given as a string, which a shell would interpret', () => {
    const spec = { ...base, cmd: 'sleep 60' } as unknown as EngineContainerSpec;
    expect(() => toCreateOptions(spec)).toThrow(/cmd must be an array of strings/);
  });

  it('passes named volumes and read-only binds, and refuses a writable bind or one with ..', () => {
    const withMounts = (mounts: unknown) =>
      ({ ...base, hostConfig: { ...base.hostConfig, Mounts: mounts } }) as unknown as EngineContainerSpec;
    const allowed = [
      { Type: 'volume', Source: 'runner-1-docker', Target: '/var/run/docker' },
      { Type: 'bind', Source: '/srv/cache', Target: '/cache', ReadOnly: true, BindOptions: { NonRecursive: true } },
    ];
    expect(toCreateOptions(withMounts(allowed)).HostConfig?.Mounts).toEqual(allowed);
    for (const mount of [
      { Type: 'bind', Source: '/srv/cache', Target: '/cache' },
      { Type: 'bind', Source: '/srv/cache', Target: '/cache', ReadOnly: false },
      { Type: 'bind', Source: '/srv/cache/../..', Target: '/host', ReadOnly: true },
      { Type: 'bind', Source: 'relative', Target: '/cache', ReadOnly: true },
      { Type: 'tmpfs', Source: '', Target: '/x' },
    ]) {
      expect(() => toCreateOptions(withMounts([mount]))).toThrow(/hostConfig.Mounts may hold only/);
    }
  });
});
