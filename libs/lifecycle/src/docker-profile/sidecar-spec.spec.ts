import { DomainError, ErrorCode } from '@app/common';
import type { DaemonSidecarSpec, DockerEngine, EngineContainerSpec, ExecOptions, VolumeMountSpec } from '@app/docker';
import { toCreateOptions, toDaemonSidecarCreateOptions } from '../../../docker/src/container-spec.mapper';
import {
  attachmentFor,
  daemonArgs,
  DEFAULT_DOCKER_DAEMON_SIDECAR_OPTIONS,
  DockerDaemonSidecarOptions,
  DockerDaemonSidecars,
  isPrivilegedRefusal,
  sidecarSpec,
  SidecarUnit,
} from '.';

const MiB = 1024 * 1024;
const options: DockerDaemonSidecarOptions = {
  ...DEFAULT_DOCKER_DAEMON_SIDECAR_OPTIONS,
  image: 'docker:27.5.1-dind',
  memoryBytes: 2048 * MiB,
  pidsLimit: 4096,
};
const unit: SidecarUnit = {
  recordId: 'rec-1',
  name: 'runner-abc',
  runnerId: 'runner-1',
  jobId: 'job-1',
  repository: 'octo/hello',
};
const volumes: VolumeMountSpec[] = [
  { Type: 'volume', Source: 'runner-abc-run', Target: '/var/run' },
  { Type: 'volume', Source: 'runner-abc-work', Target: '/home/runner/_work' },
  { Type: 'volume', Source: 'runner-abc-externals', Target: '/home/runner/externals' },
  { Type: 'volume', Source: 'runner-abc-data', Target: '/var/lib/docker' },
];

describe('the daemon sidecar spec', () => {
  it('privileged: the daemon on its socket only, for the runner group, with the unit volumes and limits', () => {
    expect(sidecarSpec(unit, options, 'privileged')).toEqual({
      name: 'runner-abc-dind',
      image: 'docker:27.5.1-dind',
      cmd: ['dockerd', '--host=unix:///var/run/docker.sock', '--group=123'],
      env: ['DOCKER_TLS_CERTDIR='],
      labels: {
        'runnerhub.managed': 'true',
        'runnerhub.type': 'dind',
        'runnerhub.unit': 'rec-1',
        'runnerhub.runner': 'runner-1',
        'runnerhub.job': 'job-1',
        'runnerhub.repository': 'octo/hello',
      },
      stopSignal: 'SIGTERM',
      hostConfig: {
        Privileged: true,
        Mounts: volumes,
        Memory: 2048 * MiB,
        MemorySwap: 2048 * MiB,
        PidsLimit: 4096,
        Init: true,
      },
    });
  });

  it('capabilities: every capability but SYS_RESOURCE, no profiles, host cgroups, nested containers under its own', () => {
    const spec = sidecarSpec(unit, options, 'capabilities');
    expect(spec.cmd).toEqual([
      'dockerd',
      '--host=unix:///var/run/docker.sock',
      '--group=123',
      '--cgroup-parent=runnerhub-nested',
    ]);
    expect(spec.hostConfig).toEqual({
      CapAdd: ['ALL'],
      CapDrop: ['SYS_RESOURCE'],
      SecurityOpt: ['seccomp=unconfined', 'apparmor=unconfined'],
      Binds: ['/sys/fs/cgroup:/sys/fs/cgroup:rw'],
      Mounts: volumes,
      Memory: 2048 * MiB,
      MemorySwap: 2048 * MiB,
      PidsLimit: 4096,
      Init: true,
    });
  });

  it('takes the unit network and limits, and keeps RunnerHub labels over the caller labels', () => {
    const spec = sidecarSpec(
      {
        ...unit,
        networkMode: 'runnerhub',
        limits: { memoryBytes: 512 * MiB, pidsLimit: 1000 },
        labels: { 'runnerhub.unit': 'forged', 'runnerhub.type': 'ephemeral', team: 'a' },
      },
      options,
      'privileged',
    );
    expect(spec.hostConfig).toMatchObject({
      NetworkMode: 'runnerhub',
      Memory: 512 * MiB,
      MemorySwap: 512 * MiB,
      PidsLimit: 1000,
    });
    expect(spec.labels).toMatchObject({ 'runnerhub.unit': 'rec-1', 'runnerhub.type': 'dind', team: 'a' });
  });

  it('without iptables: no NAT and no default bridge; a storage driver and further flags as given', () => {
    expect(
      daemonArgs(
        { ...options, iptables: false, storageDriver: 'vfs', socketGroup: '999', extraDaemonArgs: ['--mtu=1400'] },
        'privileged',
      ),
    ).toEqual([
      'dockerd',
      '--host=unix:///var/run/docker.sock',
      '--group=999',
      '--iptables=false',
      '--bridge=none',
      '--storage-driver=vfs',
      '--mtu=1400',
    ]);
  });

  it('tells the runner the namespace, the three shared volumes at the same paths, and DOCKER_HOST', () => {
    expect(
      attachmentFor(unit, {
        engineId: 'f'.repeat(64),
        mode: 'capabilities',
        daemonVersion: '27.5.1',
        readyAfterMs: 900,
      }),
    ).toEqual({
      recordId: 'rec-1',
      sidecarEngineId: 'f'.repeat(64),
      sidecarName: 'runner-abc-dind',
      mode: 'capabilities',
      networkMode: `container:${'f'.repeat(64)}`,
      mounts: volumes.slice(0, 3),
      env: { DOCKER_HOST: 'unix:///var/run/docker.sock' },
      volumes: ['runner-abc-run', 'runner-abc-work', 'runner-abc-externals', 'runner-abc-data'],
      daemonVersion: '27.5.1',
      readyAfterMs: 900,
    });
  });

  it('recognises the engine refusing privileged on a host that lacks a capability', () => {
    const refusal = new DomainError(ErrorCode.EngineRejected, 'Docker engine rejected start container (HTTP 500)', {
      engineMessage:
        'failed to create shim task: OCI runtime create failed: runc create failed: unable to start container ' +
        'process: unable to apply caps: operation not permitted: unknown',
    });
    expect(isPrivilegedRefusal(refusal)).toBe(true);
    expect(isPrivilegedRefusal(new DomainError(ErrorCode.EngineRejected, 'no such image'))).toBe(false);
  });
});

describe('the engine body of a daemon sidecar', () => {
  const spec = sidecarSpec(unit, options, 'privileged');

  it('may be privileged, through its own path only', () => {
    expect(toDaemonSidecarCreateOptions(spec).HostConfig).toMatchObject({ Privileged: true, Mounts: volumes });
    const capabilities = toDaemonSidecarCreateOptions(sidecarSpec(unit, options, 'capabilities'));
    expect(capabilities.HostConfig).toMatchObject({ Privileged: false, CapAdd: ['ALL'] });
  });

  it('must say it is a daemon sidecar', () => {
    const disguised: DaemonSidecarSpec = { ...spec, labels: { ...spec.labels, 'runnerhub.type': 'ephemeral' } };
    expect(() => toDaemonSidecarCreateOptions(disguised)).toThrow(/must carry the label runnerhub.type=dind/);
  });

  it('leaves the runner path as it was: never privileged, and Mounts hold named volumes only', () => {
    const runner: EngineContainerSpec = { name: 'runner-abc', image: 'runner:1', labels: {}, hostConfig: {} };
    expect(toCreateOptions({ ...runner, hostConfig: { Mounts: volumes.slice(0, 3) } }).HostConfig).toEqual({
      Privileged: false,
      Mounts: volumes.slice(0, 3),
    });
    const privileged = { ...runner, hostConfig: { Privileged: true } } as unknown as EngineContainerSpec;
    expect(() => toCreateOptions(privileged)).toThrow(/Privileged must be false/);
    const hostSocket = {
      ...runner,
      hostConfig: { Mounts: [{ Type: 'bind', Source: '/var/run/docker.sock', Target: '/var/run/docker.sock' }] },
    } as unknown as EngineContainerSpec;
    expect(() => toCreateOptions(hostSocket)).toThrow(/Mounts may hold only named volumes/);
  });
});

describe('DockerDaemonSidecars on an engine that allows privileged', () => {
  /** Just enough of the engine for prepare(): every call succeeds, the daemon answers at once. */
  function fakeEngine() {
    const created: DaemonSidecarSpec[] = [];
    const execs: string[][] = [];
    const engine = {
      listByLabel: jest.fn().mockResolvedValue([]),
      listVolumesByLabel: jest.fn().mockResolvedValue([]),
      createVolume: jest.fn((name: string, labels: Record<string, string>) =>
        Promise.resolve({ name, driver: 'local', labels, created: new Date() }),
      ),
      createDaemonSidecar: jest.fn((spec: DaemonSidecarSpec) => {
        created.push(spec);
        return Promise.resolve('e'.repeat(64));
      }),
      start: jest.fn().mockResolvedValue({ alreadyRunning: false }),
      exec: jest.fn((_id: string, exec: ExecOptions) => {
        execs.push(exec.command);
        return Promise.resolve({ exitCode: 0, stdout: '27.5.1\n', stderr: '', output: '27.5.1\n', truncated: false });
      }),
    };
    return { engine, created, execs };
  }

  it('runs the daemon privileged, probes it, and gives the work directory to the runner user', async () => {
    const { engine, created, execs } = fakeEngine();
    const sidecars = new DockerDaemonSidecars(engine as unknown as DockerEngine, { privileged: true });
    const attachment = await sidecars.prepare(unit);
    expect(attachment).toMatchObject({ mode: 'privileged', daemonVersion: '27.5.1' });
    expect(created.map((spec) => spec.hostConfig.Privileged)).toEqual([true]);
    expect(engine.createVolume.mock.calls.map(([name]) => name)).toEqual([
      'runner-abc-run',
      'runner-abc-work',
      'runner-abc-externals',
      'runner-abc-data',
    ]);
    expect(execs).toEqual([
      ['docker', 'version', '--format', '{{.Server.Version}}'],
      ['chown', '1001:123', '/home/runner/_work'],
    ]);
  });

  it('never tries privileged when configuration does not allow it', async () => {
    const { engine, created } = fakeEngine();
    const sidecars = new DockerDaemonSidecars(engine as unknown as DockerEngine, { privileged: false });
    expect(sidecars.mode).toBe('capabilities');
    await sidecars.prepare(unit);
    expect(created.map((spec) => spec.hostConfig.Privileged)).toEqual([undefined]);
  });
});
