import { AppConfigModule, ErrorCode, loadAppConfig } from '@app/common';
import { DockerEngine, DockerModule, EngineContainerSpec } from '@app/docker';
import { Test, TestingModule } from '@nestjs/testing';
import { execFileSync } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { removeSuiteContainers, testLabels } from '../../../../test/support/docker-cleanup';
import { waitFor } from '../../../../test/support/wait-for';
import { DockerDaemonSidecarOptions, DockerDaemonSidecars, SidecarAttachment, SidecarLabel, SidecarUnit } from '.';
import { rejection } from '../../../../test/support/rejection';

/** Built by scripts/build-dind-image.sh from this machine's own engine binaries (no registry). */
const DIND_IMAGE = process.env.TEST_DIND_IMAGE ?? 'runnerhub-test/dind:1';
const SUITE = 'docker-daemon-sidecars';
const MiB = 1024 * 1024;

const OPTIONS: Partial<DockerDaemonSidecarOptions> = {
  image: DIND_IMAGE,
  privileged: false,
  memoryBytes: 1024 * MiB,
  pidsLimit: 2048,
  readyTimeoutMs: 30_000,
};

/**
 * Stands in for the runner: the official runner's user (1001, group docker 123), no capability, no-new-privileges,
 * the daemon's network namespace, the unit's volumes and DOCKER_HOST. It builds a one-binary busybox image from its
 * own /bin/busybox, imports it into the job's daemon and runs it there the ways a job does: on a file the "runner"
 * wrote in its work directory (the path a `container:` job mounts); showing which cgroup it got; as a service on a
 * user network reached by name (`services:` with a `container:` job); and as a service with a published port reached
 * on localhost from the runner itself (`services:` with a job on the runner). Polls are bounded (50 x 0.1 s).
 */
const RUNNER_SCRIPT = [
  'set -e',
  'mkdir -p /tmp/rootfs/bin && cp /bin/busybox /tmp/rootfs/bin/',
  'for applet in sh echo cat nc seq sleep grep sed; do ln -s busybox /tmp/rootfs/bin/$applet; done',
  'tar -C /tmp/rootfs -c . | docker import - nested/busybox:1 >/dev/null',
  'echo "written by the runner" > /home/runner/_work/probe.txt',
  'docker run --rm --network none -v /home/runner/_work:/w nested/busybox:1 sh -c "echo hello from the nested daemon; cat /w/probe.txt"',
  'docker run --rm --network none nested/busybox:1 cat /proc/self/cgroup | grep -E "^[0-9]+:memory:" | sed "s/^/cgroup: /"',
  'docker network create jobnet >/dev/null',
  'SERVE="while :; do echo pong | nc -l -p 7000; done"',
  'docker run -d --name svc --network jobnet nested/busybox:1 sh -c "$SERVE" >/dev/null',
  'docker run --rm --network jobnet nested/busybox:1 sh -c \'for i in $(seq 50); do r=$(nc svc 7000 </dev/null) && [ -n "$r" ] && echo "service by name: $r" && exit 0; sleep 0.1; done; exit 1\'',
  'docker run -d --name web -p 7001:7000 nested/busybox:1 sh -c "$SERVE" >/dev/null',
  'for i in $(seq 50); do r=$(nc 127.0.0.1 7001 </dev/null) && [ -n "$r" ] && echo "published port: $r" && exit 0; sleep 0.1; done; exit 1',
].join('\n');

function runnerSpec(attachment: SidecarAttachment, name: string): EngineContainerSpec {
  return {
    name,
    image: DIND_IMAGE,
    cmd: ['sh', '-c', RUNNER_SCRIPT],
    user: '1001:123',
    env: [`DOCKER_HOST=${attachment.env.DOCKER_HOST}`, 'HOME=/tmp'],
    labels: testLabels(SUITE),
    hostConfig: {
      NetworkMode: attachment.networkMode,
      Mounts: attachment.mounts,
      CapDrop: ['ALL'],
      SecurityOpt: ['no-new-privileges'],
      Init: true,
    },
  };
}

describe('DockerDaemonSidecars against the real engine', () => {
  let moduleRef: TestingModule;
  let engine: DockerEngine;
  const recordIds: string[] = [];

  function unit(overrides: Partial<SidecarUnit> = {}): SidecarUnit {
    const recordId = randomUUID();
    recordIds.push(recordId);
    return {
      recordId,
      name: `rh-sidecar-${randomBytes(4).toString('hex')}`,
      runnerId: 'runner-1',
      jobId: 'job-1',
      repository: 'octo/hello',
      labels: testLabels(SUITE),
      ...overrides,
    };
  }

  async function leftovers(recordId: string) {
    const [containers, volumes] = await Promise.all([
      engine.listByLabel({ [SidecarLabel.Unit]: recordId }, { all: true }),
      engine.listVolumesByLabel({ [SidecarLabel.Unit]: recordId }),
    ]);
    return { containers: containers.map((c) => c.names[0]), volumes: volumes.map((v) => v.name) };
  }

  beforeAll(async () => {
    // Cached by its recipe label: about 5 s the first time on a machine, under 2 s after.
    execFileSync(join(__dirname, '../../../../scripts/build-dind-image.sh'), { stdio: 'ignore', timeout: 120_000 });
    moduleRef = await Test.createTestingModule({
      imports: [AppConfigModule.forRoot(loadAppConfig({ DOCKER_HOST: process.env.DOCKER_HOST })), DockerModule],
    }).compile();
    await moduleRef.init();
    engine = moduleRef.get(DockerEngine);
  });

  afterEach(async () => {
    await removeSuiteContainers(engine, SUITE);
    const sidecars = new DockerDaemonSidecars(engine, OPTIONS);
    for (const recordId of recordIds.splice(0)) await sidecars.release(recordId);
  });

  afterAll(async () => {
    await moduleRef?.close();
  });

  it('gives a locked-down runner its own daemon, which imports and runs a nested container; release leaves nothing', async () => {
    const sidecars = new DockerDaemonSidecars(engine, OPTIONS);
    const job = unit();
    const attachment = await sidecars.prepare(job);

    expect(attachment).toEqual({
      recordId: job.recordId,
      sidecarEngineId: expect.stringMatching(/^[0-9a-f]{64}$/),
      sidecarName: `${job.name}-dind`,
      mode: 'capabilities',
      networkMode: `container:${attachment.sidecarEngineId}`,
      mounts: [
        { Type: 'volume', Source: `${job.name}-run`, Target: '/var/run' },
        { Type: 'volume', Source: `${job.name}-work`, Target: '/home/runner/_work' },
        { Type: 'volume', Source: `${job.name}-externals`, Target: '/home/runner/externals' },
      ],
      env: { DOCKER_HOST: 'unix:///var/run/docker.sock' },
      volumes: ['run', 'work', 'externals', 'data'].map((role) => `${job.name}-${role}`),
      daemonVersion: expect.stringMatching(/^\d+\.\d+/),
      readyAfterMs: expect.any(Number),
    });
    expect(attachment.readyAfterMs).toBeLessThan(OPTIONS.readyTimeoutMs!);

    const sidecar = await engine.inspect(attachment.sidecarEngineId);
    expect(sidecar).toMatchObject({
      name: `${job.name}-dind`,
      state: { running: true },
      labels: {
        'runnerhub.managed': 'true',
        'runnerhub.type': 'dind',
        'runnerhub.unit': job.recordId,
        'runnerhub.runner': 'runner-1',
        'runnerhub.job': 'job-1',
        'runnerhub.repository': 'octo/hello',
      },
      hostConfig: {
        Privileged: false,
        CapAdd: ['ALL'],
        CapDrop: ['SYS_RESOURCE'],
        SecurityOpt: ['seccomp=unconfined', 'apparmor=unconfined'],
        Binds: ['/sys/fs/cgroup:/sys/fs/cgroup:rw'],
        Memory: 1024 * MiB,
        MemorySwap: 1024 * MiB,
        PidsLimit: 2048,
        Init: true,
      },
    });
    const volumes = await engine.listVolumesByLabel({ [SidecarLabel.Unit]: job.recordId });
    expect(volumes.map((v) => [v.name, v.labels[SidecarLabel.Volume]]).sort()).toEqual(
      ['data', 'externals', 'run', 'work'].map((role) => [`${job.name}-${role}`, role]),
    );

    const runnerId = await engine.createContainer(runnerSpec(attachment, `${job.name}-runner`));
    await engine.start(runnerId);
    const exited = await waitFor(
      async () => {
        const state = (await engine.inspect(runnerId)).state;
        return !state.running && state.startedAt !== null && state;
      },
      { timeoutMs: 45_000, intervalMs: 200, description: 'the runner stand-in to finish' },
    );
    const output = (await engine.logs(runnerId)).lines.map((line) => line.text);
    expect({ exitCode: exited.exitCode, output }).toEqual({
      exitCode: 0,
      output: [
        'hello from the nested daemon',
        'written by the runner',
        expect.stringMatching(/^cgroup: /),
        'service by name: pong',
        'published port: pong',
      ],
    });
    // The nested container's cgroup lies under the daemon container's: its memory and pids limits hold.
    expect(output[2]).toContain(`/${attachment.sidecarEngineId}/runnerhub-nested/`);

    // The runner still mounts the volumes: release removes the daemon, keeps them, and says why.
    const refused = await rejection(sidecars.release(job.recordId));
    expect(refused.code).toBe(ErrorCode.Conflict);
    expect(refused.message).toMatch(/still mounted by a container/);
    expect(await leftovers(job.recordId)).toEqual({
      containers: [],
      volumes: expect.arrayContaining(['run', 'work', 'externals'].map((role) => `${job.name}-${role}`)),
    });
    expect((await leftovers(job.recordId)).volumes).toHaveLength(3);

    await engine.remove(runnerId, { force: true, volumes: true });
    await expect(sidecars.release(job.recordId)).resolves.toEqual({ containersRemoved: 0, volumesRemoved: 3 });
    expect(await leftovers(job.recordId)).toEqual({ containers: [], volumes: [] });
    await expect(sidecars.release(job.recordId)).resolves.toEqual({ containersRemoved: 0, volumesRemoved: 0 });
  }, 90_000);

  it('releases a running unit in one call: the daemon and every volume', async () => {
    const sidecars = new DockerDaemonSidecars(engine, OPTIONS);
    const job = unit();
    const attachment = await sidecars.prepare(job);
    const started = performance.now();
    await expect(sidecars.release(job.recordId)).resolves.toEqual({ containersRemoved: 1, volumesRemoved: 4 });
    expect(performance.now() - started).toBeLessThan(10_000);
    expect(await leftovers(job.recordId)).toEqual({ containers: [], volumes: [] });
    expect(await engine.listByLabel({ [SidecarLabel.Unit]: job.recordId })).toEqual([]);
    await expect(engine.inspect(attachment.sidecarEngineId)).rejects.toMatchObject({ code: ErrorCode.NotFound });
  });

  it('tries privileged first where configuration allows it, and falls back where the host refuses it', async () => {
    const sidecars = new DockerDaemonSidecars(engine, { ...OPTIONS, privileged: true });
    expect(sidecars.mode).toBe('privileged');
    const attachment = await sidecars.prepare(unit());
    const inspected = await engine.inspect(attachment.sidecarEngineId);
    // These machines lack CAP_SYS_RESOURCE in their bounding set, so privileged cannot start here; elsewhere it does.
    expect(inspected.hostConfig.Privileged).toBe(attachment.mode === 'privileged');
    expect(sidecars.mode).toBe(attachment.mode);
    // Only the daemon container of the successful attempt is left.
    expect(await engine.listByLabel({ [SidecarLabel.Unit]: attachment.recordId })).toHaveLength(1);
  });

  it('fails prepare with the daemon log when dockerd cannot start, and leaves nothing behind', async () => {
    const sidecars = new DockerDaemonSidecars(engine, { ...OPTIONS, extraDaemonArgs: ['--no-such-flag'] });
    const job = unit();
    const error = await rejection(sidecars.prepare(job));
    expect(error.code).toBe(ErrorCode.EngineRejected);
    expect(error.message).toMatch(/stopped before it answered \(exit code \d+\).*unknown flag: --no-such-flag/);
    expect(await leftovers(job.recordId)).toEqual({ containers: [], volumes: [] });
  });

  it('refuses a second unit for the same record, and finds units whose record is gone', async () => {
    const sidecars = new DockerDaemonSidecars(engine, OPTIONS);
    const job = unit();
    await sidecars.prepare(job);
    const again = await rejection(sidecars.prepare(job));
    expect(again.code).toBe(ErrorCode.Conflict);
    expect((await leftovers(job.recordId)).volumes).toHaveLength(4);

    const live = unit();
    await sidecars.prepare(live);
    const mine = new Set([job.recordId, live.recordId]);
    const orphans = (
      await sidecars.findOrphans((recordId) => recordId === live.recordId || !mine.has(recordId))
    ).filter((orphan) => mine.has(orphan.recordId));
    expect(orphans).toEqual([
      {
        recordId: job.recordId,
        containers: [{ id: expect.any(String), name: `${job.name}-dind`, state: 'running', created: expect.any(Date) }],
        volumes: expect.arrayContaining([
          `${job.name}-run`,
          `${job.name}-work`,
          `${job.name}-externals`,
          `${job.name}-data`,
        ]),
        created: expect.any(Date),
      },
    ]);
  });
});
