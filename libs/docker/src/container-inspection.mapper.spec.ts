import type Dockerode from 'dockerode';
import exited from './__fixtures__/inspect-hardened-exited.json';
import running from './__fixtures__/inspect-hardened-running.json';
import listed from './__fixtures__/list-containers.json';
import { toContainerInspection, toContainerSummary } from './container-inspection.mapper';

// Recorded from Docker 20.10 for a container created with the hardened profile RunnerHub uses.
const asInspect = (raw: unknown) => raw as Dockerode.ContainerInspectInfo;

describe('toContainerInspection', () => {
  it('reads back the limits and security options the container was created with', () => {
    const inspection = toContainerInspection(asInspect(running));
    expect(inspection.hostConfig).toEqual({
      CpuShares: 512,
      CpuQuota: 50_000,
      CpuPeriod: 100_000,
      Memory: 64 * 1024 * 1024,
      MemorySwap: 64 * 1024 * 1024,
      PidsLimit: 64,
      CapDrop: ['ALL'],
      CapAdd: ['CHOWN'],
      SecurityOpt: ['no-new-privileges'],
      ReadonlyRootfs: true,
      Tmpfs: { '/tmp': 'rw,size=16m' },
      UsernsMode: '',
      StorageOpt: {},
      Init: true,
      NetworkMode: 'none',
      Privileged: false,
      Binds: [],
    });
  });

  it('maps identity and state of a running container, with no finish time yet', () => {
    expect(toContainerInspection(asInspect(running))).toMatchObject({
      id: running.Id,
      name: 'rh-fixture-hardened',
      image: 'runnerhub-test/busybox:1',
      imageId: running.Image,
      user: 'runner',
      workingDir: '/work',
      labels: { 'runnerhub.test': 'fixtures', 'runnerhub.role': 'runner' },
      state: {
        status: 'running',
        running: true,
        exitCode: 0,
        oomKilled: false,
        startedAt: new Date('2026-11-29T02:15:12.244Z'),
        finishedAt: null,
        error: '',
      },
      created: new Date('2026-11-29T02:15:11.721Z'),
    });
    expect(toContainerInspection(asInspect(running)).state).not.toHaveProperty('health');
  });

  it('maps a killed container: exited, 137, with a finish time', () => {
    expect(toContainerInspection(asInspect(exited)).state).toMatchObject({
      status: 'exited',
      running: false,
      exitCode: 137,
      finishedAt: new Date('2026-11-29T02:15:13.101Z'),
    });
  });

  it('maps a health check when the engine reports one', () => {
    const withHealth = structuredClone(running) as Record<string, unknown> & { State: Record<string, unknown> };
    withHealth.State.Health = { Status: 'unhealthy', FailingStreak: 3, Log: [] };
    expect(toContainerInspection(asInspect(withHealth)).state.health).toEqual({
      status: 'unhealthy',
      failingStreak: 3,
    });
  });
});

describe('toContainerSummary', () => {
  it('maps a listed container without the leading slash of its name', () => {
    expect(toContainerSummary(listed[0] as unknown as Dockerode.ContainerInfo)).toEqual({
      id: listed[0].Id,
      names: ['rh-fixture-hardened'],
      image: 'runnerhub-test/busybox:1',
      state: 'running',
      status: 'Up Less than a second',
      labels: expect.objectContaining({ 'runnerhub.test': 'fixtures' }),
      created: new Date(1_795_918_511_000),
    });
  });
});
