import { chmodSync, mkdtempSync, realpathSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Schemas } from '../client/client';
import { ApiSuite, expectErrorEnvelope, startApiSuite } from '../support/api-suite';
import { testDatabaseKinds } from '../support/databases';
import { docker, inspectContainer } from '../support/engine-cli';
import { OrchestrationSuite, startOrchestrationSuite } from '../support/orchestration-suite';
import { TEST_IMAGE, TEST_LABEL } from '../support/test-env';

type Container = Schemas['ContainerDto'];
type CreateBody = Schemas['CreateContainerDto'];
type Problem = { field: string; message: string };

const MIB = 1024 * 1024;
const CAP = 2;

/**
 * Issue 13, the attacks an operator key could make through POST /api/containers, each performed against the running
 * service and the real engine and shown refused: 1 (bind mounts escaping to host root), 2 (usernsMode host), 3 (no
 * limits, no cap), 7 (runner hijack) and 8 (label spoofing).
 */
describe.each(testDatabaseKinds())('container creation attacks on %s', (kind) => {
  let suite: ApiSuite;
  let allowed: string;
  let made: string[];

  beforeAll(async () => {
    // A directory anyone may write on the host, as a shared cache would be: only the read-only mount stops a writer.
    allowed = realpathSync(mkdtempSync(join(tmpdir(), 'runnerhub-binds-')));
    chmodSync(allowed, 0o777);
    suite = await startApiSuite(kind, 'security-containers', {
      SECURITY_ALLOWED_BIND_MOUNTS: allowed,
      MAX_CONCURRENT_CONTAINERS: String(CAP),
      DEFAULT_MEMORY_MB: '256',
      DEFAULT_CPUS: '1',
      DEFAULT_PIDS: '128',
      TMPFS_SIZE_MB: '64',
    });
  });

  beforeEach(() => {
    made = [];
  });

  // Every test starts with all slots free: what a test made is removed (force: running ones too).
  afterEach(async () => {
    for (const id of made) {
      await suite.admin.DELETE('/api/containers/{id}', { params: { path: { id }, query: { force: true } } });
    }
  });

  afterAll(async () => {
    await suite?.close();
    rmSync(allowed, { recursive: true, force: true });
  });

  function body(overrides: Partial<CreateBody> = {}): CreateBody {
    const { config, ...rest } = overrides;
    return {
      jobId: `tag-${suite.run}`,
      ...rest,
      config: {
        image: TEST_IMAGE,
        command: ['sleep', '3600'],
        ...config,
        labels: { ...suite.labels, ...config?.labels },
      },
    };
  }

  async function create(request: CreateBody): Promise<Container> {
    const { data, error, response } = await suite.operator.POST('/api/containers', { body: request });
    expect({ status: response.status, error }).toEqual({ status: 201, error: undefined });
    made.push(data!.data.id);
    return data!.data;
  }

  async function refused(request: CreateBody, status: number, code: string) {
    const { error, response } = await suite.operator.POST('/api/containers', { body: request });
    expect(response.status).toBe(status);
    return expectErrorEnvelope(error, code);
  }

  /** Containers of this run on the engine, by the docker CLI. */
  function onEngine(): string[] {
    const filters = Object.entries(suite.labels).flatMap(([key, value]) => ['--filter', `label=${key}=${value}`]);
    return docker(['ps', '-aq', ...filters])
      .split('\n')
      .filter(Boolean);
  }

  function fields(details: Record<string, unknown>): string[] {
    return (details.problems as Problem[]).map((p) => p.field);
  }

  it('attack 1: a bind is read-only, so container 1 cannot plant a symlink to / for container 2', async () => {
    const first = await create(
      body({ config: { image: TEST_IMAGE, user: '1000:1000' }, security: { binds: [`${allowed}:/c`] } }),
    );
    const mounts = inspectContainer(first.engineId!)!.Mounts;
    expect(mounts).toEqual([expect.objectContaining({ Type: 'bind', Source: allowed, Destination: '/c', RW: false })]);
    expect(inspectContainer(first.engineId!)!.HostConfig.Binds ?? []).toEqual([]);
    expect(first.security.binds).toEqual([`${allowed}:/c:ro`]);

    const plant = await suite.admin.POST('/api/containers/{id}/exec', {
      params: { path: { id: first.id } },
      body: { command: ['ln', '-s', '/', '/c/r'] },
    });
    expect(plant.data?.data.exitCode).not.toBe(0);
    expect(plant.data?.data.stderr).toMatch(/Read-only file system/);
  });

  it('attack 1: a symlink to / planted in the allowed directory (by someone on the host) cannot reach host root', async () => {
    symlinkSync('/', join(allowed, 'r'));
    const before = onEngine();
    const { message, details } = await refused(
      body({ config: { image: TEST_IMAGE, user: '1000' }, security: { binds: [`${allowed}/r:/host`] } }),
      400,
      'VALIDATION_FAILED',
    );
    expect(fields(details)).toEqual(['security.binds']);
    expect(message).toContain('resolves to /');
    expect(message).toContain('SECURITY_ALLOWED_BIND_MOUNTS');
    // Nor through a path below it, nor with "..".
    const below = await refused(
      body({ config: { image: TEST_IMAGE, user: '1000' }, security: { binds: [`${allowed}/r/etc:/etc-host`] } }),
      400,
      'VALIDATION_FAILED',
    );
    expect(below.message).toContain('resolves to /etc');
    const dotDot = await refused(
      body({ config: { image: TEST_IMAGE, user: '1000' }, security: { binds: [`${allowed}/../..:/host`] } }),
      400,
      'VALIDATION_FAILED',
    );
    expect(fields(dotDot.details)).toEqual(['security.binds']);
    expect(onEngine()).toEqual(before);
  });

  it('attack 1: a bind as root, under a user name, or asking for a writable mode is refused', async () => {
    for (const [user, mode, field] of [
      ['0', '', 'config.user'],
      ['0:0', '', 'config.user'],
      ['root', '', 'config.user'],
      [undefined, '', 'config.user'],
      ['1000', ':rw', 'security.binds'],
    ] as const) {
      const { details } = await refused(
        body({ config: { image: TEST_IMAGE, user }, security: { binds: [`${allowed}:/c${mode}`] } }),
        400,
        'VALIDATION_FAILED',
      );
      expect({ user, fields: fields(details) }).toEqual({ user, fields: [field] });
    }
    expect(onEngine()).toEqual([]);
  });

  it('attack 2: usernsMode host is not permitted unless SECURITY_ALLOW_USERNS_HOST is set', async () => {
    const { message, details } = await refused(body({ security: { usernsMode: 'host' } }), 403, 'NOT_PERMITTED');
    expect(details).toEqual({ field: 'security.usernsMode', setting: 'SECURITY_ALLOW_USERNS_HOST' });
    expect(message).toContain('SECURITY_ALLOW_USERNS_HOST=true');
    expect(onEngine()).toEqual([]);
  });

  it('attack 3: a container asking for no limits gets the configured defaults on the engine, never unlimited', async () => {
    const container = await create(body({ start: false }));
    const host = inspectContainer(container.engineId!)!.HostConfig;
    expect(host).toMatchObject({
      Memory: 256 * MIB,
      MemorySwap: 256 * MIB,
      CpuQuota: 100_000,
      CpuPeriod: 100_000,
      PidsLimit: 128,
    });
    expect(container.limits).toEqual({
      memoryMB: 256,
      cpuQuota: 100_000,
      pidsLimit: 128,
      cpuShares: 1024,
      diskGB: null,
    });
  });

  it('attack 3: scratch tmpfs get TMPFS_SIZE_MB each, and must fit in the memory limit', async () => {
    const { details } = await refused(
      body({ limits: { memoryMB: 100 }, security: { readOnlyRootfs: true, tmpfs: ['/tmp', '/work'] } }),
      400,
      'VALIDATION_FAILED',
    );
    expect(fields(details)).toEqual(['limits.memoryMB', 'security.tmpfs']);
    const container = await create(body({ start: false, security: { readOnlyRootfs: true, tmpfs: ['/tmp'] } }));
    expect(inspectContainer(container.engineId!)!.HostConfig.Tmpfs).toEqual({ '/tmp': 'rw,noexec,nosuid,size=64m' });
  });

  it(`attack 3: API containers count against MAX_CONCURRENT_CONTAINERS (${CAP}): the next one is 429, and nothing is left`, async () => {
    await create(body({ jobId: `first-${suite.run}` }));
    const second = await create(body({ jobId: `second-${suite.run}` }));
    const { message, details } = await refused(body({ jobId: `third-${suite.run}` }), 429, 'CAPACITY_EXHAUSTED');
    expect(message).toContain(`already holds ${CAP} of its ${CAP} containers`);
    expect(message).toContain('MAX_CONCURRENT_CONTAINERS');
    expect(details).toMatchObject({ held: CAP, max: CAP });
    expect(onEngine()).toHaveLength(CAP);
    const third = await suite.viewer.GET('/api/containers', { params: { query: { jobId: `third-${suite.run}` } } });
    expect(third.data?.page.total).toBe(0);

    // A stopped container holds no slot; starting it again needs one.
    await suite.operator.POST('/api/containers/{id}/stop', {
      params: { path: { id: second.id } },
      body: { timeout: 0 },
    });
    await create(body({ jobId: `fourth-${suite.run}`, start: false }));
    const restart = await suite.operator.POST('/api/containers/{id}/start', { params: { path: { id: second.id } } });
    expect(restart.response.status).toBe(429);
    expectErrorEnvelope(restart.error, 'CAPACITY_EXHAUSTED');
    expect(inspectContainer(second.engineId!)!.State.Running).toBe(false);
  });

  it(`attack 3: a concurrent burst of 5 creates at cap ${CAP} yields exactly ${CAP} containers`, async () => {
    const answers = await Promise.all(
      [1, 2, 3, 4, 5].map((n) =>
        suite.operator.POST('/api/containers', { body: body({ jobId: `burst-${n}-${suite.run}`, start: false }) }),
      ),
    );
    for (const answer of answers) if (answer.data) made.push(answer.data.data.id);
    expect(answers.map((a) => a.response.status).sort()).toEqual([201, 201, 429, 429, 429]);
    expect(onEngine()).toHaveLength(CAP);
    const live = await suite.viewer.GET('/api/containers', { params: { query: { state: 'created', limit: 500 } } });
    expect(live.data?.data.filter((c) => c.jobId?.startsWith('burst-'))).toHaveLength(CAP);
  });

  it('attack 8: a reverse-proxy label and runnerhub.* labels are refused, naming the field and the allowed prefixes', async () => {
    const traefik = await refused(
      body({ config: { image: TEST_IMAGE, labels: { 'traefik.http.routers.x.rule': 'Host(`runnerhub.example`)' } } }),
      400,
      'VALIDATION_FAILED',
    );
    expect(traefik.details.problems).toEqual([
      {
        field: 'config.labels.traefik.http.routers.x.rule',
        message: expect.stringContaining('org.opencontainers., app. (CONTAINER_LABEL_PREFIXES)'),
      },
    ]);
    const dind = await refused(
      body({ config: { image: TEST_IMAGE, labels: { 'runnerhub.type': 'dind' } } }),
      400,
      'VALIDATION_FAILED',
    );
    expect(fields(dind.details)).toEqual(['config.labels.runnerhub.type']);
    expect(onEngine()).toEqual([]);
    // The test's own labels sit under an allowed prefix, and RunnerHub's are its own.
    const allowedLabels = await create(body({ start: false }));
    expect(inspectContainer(allowedLabels.engineId!)!.Config.Labels).toMatchObject({
      [TEST_LABEL]: 'api',
      'runnerhub.type': 'ephemeral',
      'runnerhub.managed': 'true',
    });
  });
});

describe.each(testDatabaseKinds())('runner hijack through the containers API on %s', (kind) => {
  let suite: OrchestrationSuite;

  beforeAll(async () => {
    suite = await startOrchestrationSuite(kind, 'security-hijack');
  });

  afterAll(async () => {
    await suite?.close();
  });

  it("attack 7: runnerId and jobId of RunnerHub's own job and runner are refused (409), naming the field", async () => {
    const { data: queued } = await suite.operator.POST('/api/jobs', {
      body: { repository: suite.repository, labels: ['self-hosted'] },
    });
    const job = await suite.waitForJob(queued!.data.id, ['running', 'completed']);
    expect(job.runnerId).toEqual(expect.any(String));
    const hijack = (ids: { runnerId?: string; jobId?: string }) =>
      suite.operator.POST('/api/containers', {
        body: {
          ...ids,
          repository: suite.repository,
          config: { image: TEST_IMAGE, command: ['sleep', '3600'], labels: { [TEST_LABEL]: 'security-hijack' } },
          start: false,
        },
      });

    for (const [ids, field] of [
      [{ jobId: job.id }, 'jobId'],
      [{ runnerId: job.runnerId! }, 'runnerId'],
      [{ runnerId: job.runnerId!, jobId: `own-tag-${kind}` }, 'runnerId'],
    ] as const) {
      const { error, response } = await hijack(ids);
      expect({ ids, status: response.status }).toEqual({ ids, status: 409 });
      const { details } = expectErrorEnvelope(error, 'CONFLICT');
      expect(details).toMatchObject({ field, problems: [expect.objectContaining({ field })] });
    }
    // None of them left a record or a container behind: the runner has only its own.
    const { data } = await suite.viewer.GET('/api/containers', { params: { query: { runnerId: job.runnerId! } } });
    expect(data?.data.map((c) => c.id)).toEqual([job.containerId]);
    expect(docker(['ps', '-aq', '--filter', `label=${TEST_LABEL}=security-hijack`])).toBe('');
  });
});
