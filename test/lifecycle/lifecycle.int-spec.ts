import { ContainerState as S, DomainError, ErrorCode } from '@app/common';
import { ContainerConfig } from '@app/lifecycle';
import { createTestDatabase, TestDatabase, testDatabaseKinds } from '../support/databases';
import { docker, inspectContainer, removeLabelled } from '../support/engine-cli';
import { LifecycleHarness } from '../support/lifecycle-harness';
import { TEST_IMAGE, TEST_LABEL } from '../support/test-env';
import { waitFor } from '../support/wait-for';

const SUITE = 'lifecycle';
const SLEEPER: ContainerConfig = {
  image: TEST_IMAGE,
  command: ['sleep', '3600'],
  labels: { [TEST_LABEL]: SUITE },
  repository: 'octo/hello',
};

describe.each(testDatabaseKinds())('container lifecycle on %s', (kind) => {
  let database: TestDatabase;
  let harness: LifecycleHarness;

  beforeAll(async () => {
    database = await createTestDatabase(kind);
    // Two scratch tmpfs of 16 MiB fit in the 96 MiB limit below (tmpfs pages count against the memory limit).
    harness = await LifecycleHarness.start(database, { TMPFS_SIZE_MB: '16' });
  });

  afterAll(async () => {
    await harness?.close();
    removeLabelled(`${TEST_LABEL}=${SUITE}`);
    await database?.drop();
  });

  it('walks the whole life: create, start, stop, remove, with every transition written and announced in order', async () => {
    const { manager } = harness;
    const id = await manager.createContainer('runner-1', 'job-1', SLEEPER, { memoryMB: 64 });
    const created = await manager.get(id);
    expect(created).toMatchObject({ state: S.Created, jobId: 'job-1', runnerId: 'runner-1', repository: 'octo/hello' });
    expect(created.name).toMatch(/^runner-[0-9a-f]{12}$/);
    expect(inspectContainer(created.engineId!)?.Name).toBe(`/${created.name}`);

    expect(await manager.start(id)).toMatchObject({ state: S.Running });
    expect(inspectContainer(created.engineId!)?.State.Running).toBe(true);

    const stopped = await manager.stop(id, 5);
    // Init as PID 1 forwards SIGTERM, so `sleep` ends at once with 143 rather than being killed after the timeout.
    expect(stopped).toMatchObject({ state: S.Stopped, exitCode: 143 });
    expect(inspectContainer(created.engineId!)?.State.Running).toBe(false);

    expect(await manager.remove(id)).toMatchObject({ state: S.Removed });
    expect(inspectContainer(created.engineId!)).toBeNull();

    const history = await manager.history(id);
    expect(history.map((t) => t.toState)).toEqual([
      S.Creating,
      S.Created,
      S.Starting,
      S.Running,
      S.Stopping,
      S.Stopped,
      S.Removing,
      S.Removed,
    ]);
    expect(history[5].exitCode).toBe(143);
    expect(harness.eventsFor(id)).toEqual([
      'container:created',
      'container:starting',
      'container:started',
      'container:stopping',
      'container:stopped',
      'container:removing',
      'container:removed',
    ]);
  });

  it('answers a repeated stop or remove calmly, and refuses an illegal move naming the current state', async () => {
    const { manager } = harness;
    const id = await manager.createContainer(null, null, SLEEPER);
    await expect(manager.stop(id)).rejects.toMatchObject({
      code: ErrorCode.IllegalTransition,
      message: expect.stringContaining('is created'),
    });
    await manager.start(id);
    await expect(manager.remove(id)).rejects.toMatchObject({
      code: ErrorCode.IllegalTransition,
      message: expect.stringContaining('is running: stop it first, or remove it with force'),
    });
    await manager.stop(id, 1);
    const again = await manager.stop(id, 1);
    expect(again.state).toBe(S.Stopped);
    await manager.remove(id);
    expect((await manager.remove(id)).state).toBe(S.Removed);
    await expect(manager.start(id)).rejects.toMatchObject({
      code: ErrorCode.IllegalTransition,
      details: { state: S.Removed },
    });
    const rows = await manager.history(id);
    expect(rows.filter((t) => t.toState === S.Stopped)).toHaveLength(1);
    expect(rows.filter((t) => t.toState === S.Removed)).toHaveLength(1);
  });

  it('removes a running container with force, and the history shows the stop on the way', async () => {
    const { manager } = harness;
    const id = await manager.createContainer(null, null, SLEEPER);
    await manager.start(id);
    const removed = await manager.remove(id, { force: true });
    expect(removed.state).toBe(S.Removed);
    expect(inspectContainer(removed.engineId!)).toBeNull();
    expect((await manager.history(id)).slice(-4).map((t) => t.toState)).toEqual([
      S.Stopping,
      S.Stopped,
      S.Removing,
      S.Removed,
    ]);
  });

  it('applies the limits and the locked-down security profile, as the engine reports them', async () => {
    const { manager } = harness;
    const id = await manager.createContainer(
      null,
      null,
      { ...SLEEPER, workingDir: '/work' },
      { cpuShares: 512, cpuQuota: 50000, memoryMB: 96, pidsLimit: 64 },
      { readOnlyRootfs: true },
    );
    const record = await manager.get(id);
    const host = inspectContainer(record.engineId!)!.HostConfig;
    expect(host).toMatchObject({
      CpuShares: 512,
      CpuQuota: 50000,
      CpuPeriod: 100000,
      Memory: 96 * 1024 * 1024,
      MemorySwap: 96 * 1024 * 1024,
      PidsLimit: 64,
      CapDrop: ['ALL'],
      SecurityOpt: ['no-new-privileges'],
      Privileged: false,
      ReadonlyRootfs: true,
      NetworkMode: 'bridge',
    });
    expect(host.Tmpfs).toEqual({ '/tmp': 'rw,noexec,nosuid,size=16m', '/work': 'rw,noexec,nosuid,size=16m' });
    expect(host.Binds ?? []).toEqual([]);
    expect(record.limits).toMatchObject({ cpuShares: 512, memoryMB: 96, pidsLimit: 64 });
    expect(record.security).toMatchObject({ capDrop: ['ALL'], readOnlyRootfs: true, privileged: false });

    await manager.start(id);
    const readOnly = await manager.exec(id, { command: ['sh', '-c', 'touch /x'] });
    expect(readOnly.exitCode).not.toBe(0);
    expect(readOnly.stderr).toMatch(/Read-only file system/);
    const scratch = await manager.exec(id, { command: ['sh', '-c', 'touch /tmp/x && echo ok'] });
    expect(scratch).toMatchObject({ exitCode: 0, stdout: 'ok\n' });
    // No capabilities at all: even root in the container cannot change a file's owner.
    const chown = await manager.exec(id, { command: ['sh', '-c', 'touch /tmp/y && chown 1000 /tmp/y'] });
    expect(chown.exitCode).not.toBe(0);
    // no-new-privileges is in force for the process itself.
    const status = await manager.exec(id, { command: ['sh', '-c', 'grep NoNewPrivs /proc/self/status'] });
    expect(status.stdout).toMatch(/NoNewPrivs:\s+1/);
    await manager.remove(id, { force: true });
  });

  it('never writes an env value to the database, the history or the events', async () => {
    const { manager } = harness;
    const secret = `ghs_${Math.random().toString(36).slice(2)}SECRET`;
    const id = await manager.createContainer('r', 'j', {
      ...SLEEPER,
      env: { RUNNER_TOKEN: secret, EPHEMERAL: 'true' },
    });
    await manager.start(id);
    // The engine got it (that is where it is needed)...
    const record = await manager.get(id);
    expect(inspectContainer(record.engineId!)!.Config.Env).toContain(`RUNNER_TOKEN=${secret}`);
    // ...and nothing RunnerHub keeps or says holds it.
    expect(record.spec.envNames).toEqual(['RUNNER_TOKEN', 'EPHEMERAL']);
    expect(JSON.stringify(record)).not.toContain(secret);
    expect(JSON.stringify(await manager.history(id))).not.toContain(secret);
    expect(JSON.stringify(harness.events)).not.toContain(secret);
    await manager.remove(id, { force: true });
  });

  it('ends a create whose image is missing in ERROR with the reason, leaving nothing on the engine', async () => {
    const { manager } = harness;
    const missing = 'runnerhub-test/does-not-exist:404';
    const error = await manager.createContainer(null, null, { ...SLEEPER, image: missing }).then(
      () => null,
      (e: unknown) => e,
    );
    expect(DomainError.is(error, ErrorCode.ImageNotFound)).toBe(true);
    const { items } = await manager.list({ state: S.Error }, { limit: 100, offset: 0 });
    const failed = items.find((r) => r.spec.image === missing)!;
    expect(failed.stateReason).toContain(missing);
    expect(docker(['ps', '-aq', '--filter', `label=runnerhub.record=${failed.id}`])).toBe('');
    expect(harness.eventsFor(failed.id)).toEqual(['container:error']);
  });

  it('refuses a disk quota the storage driver cannot honour, naming the driver, before writing anything', async () => {
    const { manager } = harness;
    const before = (await manager.list({}, { limit: 1, offset: 0 })).total;
    await expect(manager.createContainer(null, null, SLEEPER, { diskGB: 1 })).rejects.toMatchObject({
      code: ErrorCode.UnsupportedByEngine,
      message: expect.stringMatching(/storage driver is overlay2/),
    });
    expect((await manager.list({}, { limit: 1, offset: 0 })).total).toBe(before);
  });

  it('sees a container killed outside RunnerHub within a second, with its exit code', async () => {
    const { manager } = harness;
    const id = await manager.createContainer(null, null, SLEEPER);
    const { engineId } = await manager.start(id);
    const killedAt = Date.now();
    docker(['kill', engineId!]);
    const record = await waitFor(
      async () => {
        const r = await manager.get(id);
        return r.state === S.Stopped && r;
      },
      { description: 'the record to stop', timeoutMs: 5_000, intervalMs: 20 },
    );
    expect(Date.now() - killedAt).toBeLessThan(2_000);
    expect(record).toMatchObject({ exitCode: 137, stateReason: 'exited with code 137' });
    const last = (await manager.history(id)).at(-1)!;
    expect(last).toMatchObject({ fromState: S.Running, toState: S.Stopped, actor: 'reconciler', exitCode: 137 });
    expect(harness.eventsFor(id).at(-1)).toBe('container:stopped');
    await manager.remove(id);
  });

  it('marks a container that runs out of memory ERROR with the reason oom-killed', async () => {
    const { manager } = harness;
    // The shell doubles a string until the 16 MiB limit (no swap) has the kernel kill it.
    const id = await manager.createContainer(
      null,
      null,
      {
        ...SLEEPER,
        command: ['sh', '-c', 'x=0123456789abcdef; while true; do x="$x$x"; done'],
      },
      { memoryMB: 16 },
    );
    await manager.start(id).catch(() => undefined);
    const record = await waitFor(
      async () => {
        const r = await manager.get(id);
        return r.state === S.Error && r;
      },
      { description: 'the OOM kill to be seen', timeoutMs: 15_000 },
    );
    expect(record.stateReason).toBe('oom-killed');
    expect(record.exitCode).toBe(137);
    expect(harness.eventsFor(id)).toContain('container:error');
    await manager.remove(id);
    expect(inspectContainer(record.engineId!)).toBeNull();
  });

  it('serialises a concurrent stop and remove of one container into a consistent end', async () => {
    const { manager } = harness;
    for (let round = 0; round < 3; round++) {
      const id = await manager.createContainer(null, null, SLEEPER);
      await manager.start(id);
      const results = await Promise.allSettled([
        manager.stop(id, 2),
        manager.remove(id, { force: true }),
        manager.stop(id, 2),
      ]);
      expect(results.every((r) => r.status === 'fulfilled')).toBe(true);
      const record = await manager.get(id);
      expect(record.state).toBe(S.Removed);
      expect(inspectContainer(record.engineId!)).toBeNull();
      const states = (await manager.history(id)).map((t) => t.toState);
      expect(states).toEqual([
        S.Creating,
        S.Created,
        S.Starting,
        S.Running,
        S.Stopping,
        S.Stopped,
        S.Removing,
        S.Removed,
      ]);
    }
  });
});
