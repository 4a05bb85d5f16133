import { AppConfigModule, ErrorCode, loadAppConfig } from '@app/common';
import { Test, TestingModule } from '@nestjs/testing';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, Server, Socket } from 'node:net';
import { join } from 'node:path';
import { removeSuiteContainers, testLabels } from '../../../test/support/docker-cleanup';
import { waitFor } from '../../../test/support/wait-for';
import { TEST_IMAGE, TEST_LABEL } from '../../../test/support/test-env';
import { DockerEngine, DockerModule, DockerModuleOptions, EngineContainerSpec, HostConfigSpec } from '.';
import { rejection } from '../../../test/support/rejection';

const MiB = 1024 * 1024;

async function engineModule(dockerHost: string | undefined, options?: DockerModuleOptions): Promise<TestingModule> {
  const moduleRef = await Test.createTestingModule({
    imports: [
      AppConfigModule.forRoot(loadAppConfig({ DOCKER_HOST: dockerHost })),
      options ? DockerModule.forRoot(options) : DockerModule,
    ],
  }).compile();
  return moduleRef.init();
}

/** A test container spec: labelled with its suite, named uniquely, without network unless a test needs one. */
function spec(
  suite: string,
  overrides: Partial<EngineContainerSpec> = {},
  host: HostConfigSpec = {},
): EngineContainerSpec {
  return {
    name: `rh-${suite}-${randomBytes(4).toString('hex')}`,
    image: TEST_IMAGE,
    cmd: ['sleep', '300'],
    labels: testLabels(suite),
    ...overrides,
    hostConfig: { NetworkMode: 'none', ...host },
  };
}

describe('DockerEngine against the real engine', () => {
  let moduleRef: TestingModule;
  let engine: DockerEngine;
  const suites: string[] = [];

  /** Starts a container of the suite and returns its id. */
  async function running(suite: string, overrides: Partial<EngineContainerSpec> = {}, host: HostConfigSpec = {}) {
    const id = await engine.createContainer(spec(suite, overrides, host));
    await engine.start(id);
    return id;
  }

  beforeAll(async () => {
    moduleRef = await engineModule(process.env.DOCKER_HOST);
    engine = moduleRef.get(DockerEngine);
  });

  afterAll(async () => {
    for (const suite of suites) await removeSuiteContainers(engine, suite);
    await moduleRef?.close();
  });

  function suite(name: string): string {
    suites.push(name);
    afterEach(() => removeSuiteContainers(engine, name));
    return name;
  }

  describe('the engine itself', () => {
    it('answers ping, and reports its version on the pinned API and its platform', async () => {
      await expect(engine.ping()).resolves.toBeUndefined();
      const version = await engine.version();
      expect(version).toEqual({
        version: expect.stringMatching(/^\d+\.\d+/),
        apiVersion: '1.41',
        os: 'linux',
        arch: expect.any(String),
      });
    });

    it('reports storage, cgroup, CPUs and memory', async () => {
      const info = await engine.info();
      expect(info).toMatchObject({
        storageDriver: expect.stringMatching(/\w/),
        cgroupVersion: expect.stringMatching(/^[12]$/),
        cgroupDriver: expect.stringMatching(/^(cgroupfs|systemd)$/),
        serverVersion: (await engine.version()).version,
      });
      expect(info.cpus).toBeGreaterThan(0);
      expect(info.memoryBytes).toBeGreaterThan(64 * MiB);
    });

    it('knows which images it holds', async () => {
      await expect(engine.imageExists(TEST_IMAGE)).resolves.toBe(true);
      await expect(engine.imageExists('runnerhub-test/never-loaded:0')).resolves.toBe(false);
    });
  });

  describe('container lifecycle', () => {
    const name = suite('docker-engine-lifecycle');

    it('creates a hardened container whose limits and security options read back as asked', async () => {
      const id = await running(
        name,
        { user: 'runner', workingDir: '/work', env: ['A=1'], stopSignal: 'SIGTERM', stopTimeout: 5 },
        {
          CpuShares: 512,
          CpuQuota: 50_000,
          CpuPeriod: 100_000,
          Memory: 64 * MiB,
          MemorySwap: 64 * MiB,
          PidsLimit: 64,
          CapDrop: ['ALL'],
          CapAdd: ['CHOWN'],
          SecurityOpt: ['no-new-privileges'],
          ReadonlyRootfs: true,
          Tmpfs: { '/tmp': 'rw,noexec,size=16m' },
          Init: true,
        },
      );
      const inspection = await engine.inspect(id);
      expect(inspection).toMatchObject({
        id,
        image: TEST_IMAGE,
        user: 'runner',
        workingDir: '/work',
        labels: { [TEST_LABEL]: name },
        state: { status: 'running', running: true, exitCode: 0, oomKilled: false, finishedAt: null, error: '' },
        hostConfig: {
          CpuShares: 512,
          CpuQuota: 50_000,
          CpuPeriod: 100_000,
          Memory: 64 * MiB,
          MemorySwap: 64 * MiB,
          PidsLimit: 64,
          CapDrop: ['ALL'],
          CapAdd: ['CHOWN'],
          SecurityOpt: ['no-new-privileges'],
          ReadonlyRootfs: true,
          Tmpfs: { '/tmp': 'rw,noexec,size=16m' },
          Init: true,
          NetworkMode: 'none',
          Privileged: false,
        },
      });
      expect(inspection.state.startedAt!.getTime()).toBeGreaterThan(inspection.created.getTime() - 1);
      // Read-only root, writable scratch: the options are in force, not only recorded.
      const write = await engine.exec(id, { command: ['sh', '-c', 'touch /x; echo $?; touch /tmp/x; echo $?'] });
      expect(write.stdout).toBe('1\n0\n');
    });

    it('starts idempotently', async () => {
      const id = await running(name);
      await expect(engine.start(id)).resolves.toEqual({ alreadyRunning: true });
    });

    it('stops fast with Init (SIGTERM reaches sleep: 143), and reports a second stop as already stopped', async () => {
      const id = await running(name, {}, { Init: true });
      const started = Date.now();
      await expect(engine.stop(id, 10)).resolves.toEqual({ alreadyStopped: false });
      expect(Date.now() - started).toBeLessThan(5_000);
      expect((await engine.inspect(id)).state).toMatchObject({ status: 'exited', running: false, exitCode: 143 });
      await expect(engine.stop(id, 10)).resolves.toEqual({ alreadyStopped: true });
    });

    it('without Init waits the whole timeout, since sleep as PID 1 ignores SIGTERM, then kills (137)', async () => {
      const id = await running(name, {}, { Init: false });
      const started = Date.now();
      await expect(engine.stop(id, 1)).resolves.toEqual({ alreadyStopped: false });
      expect(Date.now() - started).toBeGreaterThanOrEqual(900);
      expect((await engine.inspect(id)).state.exitCode).toBe(137);
    });

    it('kills with SIGKILL by default (137) and with the signal asked for (SIGTERM through init: 143)', async () => {
      const [first, second] = await Promise.all([running(name, {}, { Init: true }), running(name, {}, { Init: true })]);
      await engine.kill(first);
      await engine.kill(second, 'SIGTERM');
      const exitCodes = await waitFor(
        async () => {
          const states = await Promise.all([engine.inspect(first), engine.inspect(second)]);
          return states.every((s) => !s.state.running) && states.map((s) => s.state.exitCode);
        },
        { timeoutMs: 5_000, description: 'both containers to exit' },
      );
      expect(exitCodes).toEqual([137, 143]);
    });

    it('refuses to kill a container that is not running (Conflict)', async () => {
      const id = await engine.createContainer(spec(name));
      expect(await rejection(engine.kill(id))).toMatchObject({ code: ErrorCode.Conflict });
    });

    it('removes a running container with force, reports a second removal as already gone, then NotFound', async () => {
      const id = await running(name);
      await expect(engine.remove(id, { force: true, volumes: true })).resolves.toEqual({ alreadyGone: false });
      await expect(engine.remove(id, { force: true })).resolves.toEqual({ alreadyGone: true });
      const error = await rejection(engine.inspect(id));
      expect(error.code).toBe(ErrorCode.NotFound);
      expect(error.message).toContain(id);
    });

    it('refuses to remove a running container without force (Conflict)', async () => {
      const id = await running(name);
      expect(await rejection(engine.remove(id))).toMatchObject({ code: ErrorCode.Conflict });
    });

    it('lists containers by label, by value or by presence, running only on request', async () => {
      const a = await running(name, { labels: { ...testLabels(name), 'runnerhub.role': 'a' } });
      const b = await engine.createContainer(spec(name, { labels: { ...testLabels(name), 'runnerhub.role': 'b' } }));
      await engine.createContainer(spec(name));

      const byValue = await engine.listByLabel({ ...testLabels(name), 'runnerhub.role': 'a' });
      expect(byValue).toEqual([
        {
          id: a,
          names: [expect.stringMatching(/^rh-docker-engine-lifecycle-/)],
          image: TEST_IMAGE,
          state: 'running',
          status: expect.stringMatching(/^Up /),
          labels: expect.objectContaining({ 'runnerhub.role': 'a' }),
          created: expect.any(Date),
        },
      ]);
      const byPresence = await engine.listByLabel({ ...testLabels(name), 'runnerhub.role': true });
      expect(byPresence.map((c) => c.id).sort()).toEqual([a, b].sort());
      expect((await engine.listByLabel(testLabels(name))).length).toBe(3);
      expect((await engine.listByLabel(testLabels(name), { all: false })).map((c) => c.id)).toEqual([a]);
    });
  });

  describe('exec', () => {
    const name = suite('docker-engine-exec');
    let id: string;

    beforeEach(async () => {
      id = await running(name, {}, { Init: true });
    });

    const processes = async () => (await engine.exec(id, { command: ['ps', '-o', 'args'] })).stdout;

    it('returns exit code 0 and stdout', async () => {
      await expect(engine.exec(id, { command: ['echo', 'hello'] })).resolves.toEqual({
        exitCode: 0,
        stdout: 'hello\n',
        stderr: '',
        output: 'hello\n',
        truncated: false,
      });
    });

    it('returns a failing exit code, with stdout and stderr apart and together in order', async () => {
      const result = await engine.exec(id, {
        command: ['sh', '-c', 'echo out1; sleep 0.1; echo err1 >&2; sleep 0.1; echo out2; exit 3'],
      });
      expect(result).toEqual({
        exitCode: 3,
        stdout: 'out1\nout2\n',
        stderr: 'err1\n',
        output: 'out1\nerr1\nout2\n',
        truncated: false,
      });
    });

    it('reports a missing binary as the exit code the engine gives it, with its reason', async () => {
      const result = await engine.exec(id, { command: ['no-such-binary', '--flag'] });
      expect([126, 127]).toContain(result.exitCode);
      expect(result.output).toMatch(/no-such-binary.*(not found|no such file)/);
    });

    it('passes arguments verbatim (no shell), and honours user, working directory and environment', async () => {
      const verbatim = await engine.exec(id, { command: ['echo', '$HOME; echo injected'] });
      expect(verbatim.stdout).toBe('$HOME; echo injected\n');
      const context = await engine.exec(id, {
        command: ['sh', '-c', 'id -u; pwd; echo "$GREETING"'],
        user: 'runner',
        workingDir: '/home/runner',
        env: ['GREETING=hi there'],
      });
      expect(context.stdout).toBe('1000\n/home/runner\nhi there\n');
    });

    it('keeps output up to the cap, drops the rest, and still reads the exit code', async () => {
      const result = await engine.exec(id, {
        command: ['sh', '-c', 'head -c 300000 /dev/zero | tr "\\000" a; echo done >&2; exit 7'],
        maxOutputBytes: 1_000,
      });
      expect(result).toEqual({
        exitCode: 7,
        stdout: 'a'.repeat(1_000),
        stderr: '',
        output: 'a'.repeat(1_000),
        truncated: true,
      });
    });

    it('times out, leaves nothing running, and says so', async () => {
      const started = Date.now();
      const error = await rejection(engine.exec(id, { command: ['sleep', '30'], timeoutMs: 500 }));
      expect(error.code).toBe(ErrorCode.Timeout);
      expect(error.message).toContain('did not finish within 500 ms and was killed');
      expect(error.details).toMatchObject({ containerId: id, timeoutMs: 500, killed: true });
      expect(Date.now() - started).toBeLessThan(5_000);
      expect(await processes()).not.toMatch(/^sleep 30$/m);
    });

    it('on timeout also kills children and processes that ignore SIGTERM', async () => {
      const command = ['sh', '-c', 'trap "" TERM; sleep 31 & sleep 32; wait'];
      const error = await rejection(engine.exec(id, { command, timeoutMs: 500, user: 'runner' }));
      expect(error.details).toMatchObject({ killed: true });
      const left = await processes();
      expect(left).not.toMatch(/sleep 3[12]|trap/);
      expect(left).toContain('sleep 300');
    });

    it('refuses an exec in a container that is not running (Conflict)', async () => {
      const stopped = await engine.createContainer(spec(name));
      expect(await rejection(engine.exec(stopped, { command: ['true'] }))).toMatchObject({ code: ErrorCode.Conflict });
    });
  });

  describe('logs', () => {
    const name = suite('docker-engine-logs');

    it('returns the tail, stdout and stderr apart, with or without timestamps', async () => {
      const before = new Date(Date.now() - 1_000);
      const id = await running(name, {
        cmd: ['sh', '-c', 'for i in 1 2 3 4 5; do echo out$i; echo err$i >&2; done; sleep 300'],
      });
      const all = await waitFor(
        async () => {
          const { lines } = await engine.logs(id);
          return lines.length === 10 && lines;
        },
        { timeoutMs: 5_000, description: 'ten log lines' },
      );
      expect(all.filter((l) => l.stream === 'stdout').map((l) => l.text)).toEqual([
        'out1',
        'out2',
        'out3',
        'out4',
        'out5',
      ]);
      expect(all.filter((l) => l.stream === 'stderr').map((l) => l.text)).toEqual([
        'err1',
        'err2',
        'err3',
        'err4',
        'err5',
      ]);
      expect(all.every((l) => l.timestamp === undefined)).toBe(true);

      const tail = await engine.logs(id, { tail: 3 });
      expect(tail.lines).toEqual(all.slice(-3));

      const stamped = await engine.logs(id, { tail: 2, timestamps: true });
      expect(stamped.lines.map((l) => l.text)).toEqual(all.slice(-2).map((l) => l.text));
      for (const line of stamped.lines) {
        expect(line.timestamp).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+Z$/);
        expect(new Date(line.timestamp!).getTime()).toBeGreaterThanOrEqual(before.getTime());
      }

      expect((await engine.logs(id, { since: before })).lines).toHaveLength(10);
      expect((await engine.logs(id, { since: new Date(Date.now() + 60_000) })).lines).toEqual([]);
    });
  });

  describe('stats', () => {
    const name = suite('docker-engine-stats');

    it('samples a busy container: CPU within its quota, memory against its 64 MiB limit, pids', async () => {
      const id = await running(
        name,
        { cmd: ['sh', '-c', 'while :; do :; done'] },
        { Memory: 64 * MiB, CpuQuota: 50_000, CpuPeriod: 100_000, PidsLimit: 32 },
      );
      const first = await engine.stats(id);
      expect(first).toMatchObject({ memoryLimit: 64 * MiB, networkRx: 0, networkTx: 0 });
      expect(first.memoryUsage).toBeGreaterThan(0);
      expect(first.memoryPercent).toBeCloseTo((first.memoryUsage / (64 * MiB)) * 100, 6);
      expect(first.pids).toBeGreaterThanOrEqual(1);
      expect(first.cpuPercent).toBeGreaterThan(5);
      expect(first.cpuPercent).toBeLessThan(60);

      // The second sample is a one-shot measured against the first: a longer window, the same quota.
      const second = await engine.stats(id);
      expect(second.cpuPercent).toBeGreaterThan(5);
      expect(second.cpuPercent).toBeLessThan(60);
      expect(second.sampledAt.getTime()).toBeGreaterThan(first.sampledAt.getTime());
    });

    it('reads zeros for a container that is not running, and NotFound once it is removed', async () => {
      const id = await engine.createContainer(spec(name));
      await expect(engine.stats(id)).resolves.toMatchObject({ cpuPercent: 0, memoryUsage: 0, pids: 0 });
      await engine.remove(id, { force: true });
      expect(await rejection(engine.stats(id))).toMatchObject({ code: ErrorCode.NotFound });
    });
  });

  describe('errors', () => {
    const name = suite('docker-engine-errors');

    it('maps a missing image to ImageNotFound, naming it and saying how to load it', async () => {
      const error = await rejection(engine.createContainer(spec(name, { image: 'runnerhub-test/never-loaded:0' })));
      expect(error.code).toBe(ErrorCode.ImageNotFound);
      expect(error.message).toContain('runnerhub-test/never-loaded:0');
      expect(error.message).toMatch(/docker pull.*docker load/);
      expect(error.details).toMatchObject({ statusCode: 404, engineMessage: expect.stringMatching(/No such image/i) });
    });

    it('maps an unknown container to NotFound naming it', async () => {
      const error = await rejection(engine.inspect('runnerhub-no-such-container'));
      expect(error.code).toBe(ErrorCode.NotFound);
      expect(error.message).toContain('runnerhub-no-such-container');
    });

    it('maps a name already in use to Conflict', async () => {
      const first = spec(name);
      await engine.createContainer(first);
      expect(await rejection(engine.createContainer({ ...first }))).toMatchObject({ code: ErrorCode.Conflict });
    });

    it('maps a disk quota to UnsupportedByEngine where the storage driver has none', async () => {
      const info = await engine.info();
      const quotaCapable = info.storageDriver !== 'overlay2' || info.backingFilesystem === 'xfs';
      const creating = engine.createContainer(spec(name, {}, { StorageOpt: { size: '1G' } }));
      if (quotaCapable) {
        await expect(creating).resolves.toMatch(/^[0-9a-f]{64}$/);
      } else {
        const error = await rejection(creating);
        expect(error.code).toBe(ErrorCode.UnsupportedByEngine);
        expect(error.message).toMatch(/storage-opt/);
      }
    });

    it('refuses a privileged container before the engine sees it', async () => {
      const privileged = { ...spec(name), hostConfig: { Privileged: true } } as unknown as EngineContainerSpec;
      expect(await rejection(engine.createContainer(privileged))).toMatchObject({ code: ErrorCode.ValidationFailed });
      await expect(engine.listByLabel(testLabels(name))).resolves.toEqual([]);
    });
  });

  describe('an engine that is away', () => {
    let dir: string;
    let server: Server | undefined;
    const held: Socket[] = [];

    beforeAll(() => {
      dir = mkdtempSync('/tmp/rh-away-');
    });

    afterAll(async () => {
      held.forEach((socket) => socket.destroy());
      await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
      rmSync(dir, { recursive: true, force: true });
    });

    it('reports a missing socket as EngineUnavailable, naming the socket', async () => {
      const socketPath = join(dir, 'missing.sock');
      const away = await engineModule(`unix://${socketPath}`);
      try {
        const error = await rejection(away.get(DockerEngine).ping());
        expect(error.code).toBe(ErrorCode.EngineUnavailable);
        expect(error.message).toBe(
          `Docker engine at unix://${socketPath} is not reachable: the socket ${socketPath} does not exist (is dockerd running?)`,
        );
      } finally {
        await away.close();
      }
    });

    it('gives up on a control call the engine never answers, after the configured deadline', async () => {
      const socketPath = join(dir, 'hung.sock');
      server = createServer((socket) => {
        held.push(socket);
        socket.resume();
      });
      await new Promise<void>((resolve) => server!.listen(socketPath, resolve));
      const hung = await engineModule(`unix://${socketPath}`, { engine: { controlTimeoutMs: 300 } });
      try {
        const started = Date.now();
        const error = await rejection(hung.get(DockerEngine).inspect('anything'));
        expect(error.code).toBe(ErrorCode.EngineUnavailable);
        expect(error.message).toContain('did not answer inspect container within 300 ms');
        expect(Date.now() - started).toBeLessThan(2_000);
        // The abandoned request was torn down, not left hanging on the socket.
        await waitFor(() => held.length > 0 && held.every((socket) => socket.destroyed || socket.readableEnded), {
          timeoutMs: 2_000,
          description: 'the abandoned connection to close',
        });
      } finally {
        await hung.close();
      }
    });
  });
});
