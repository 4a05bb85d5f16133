import { randomBytes } from 'node:crypto';
import { EngineRegistry } from '@app/docker';
import { Operations, Schemas } from '../client/client';
import { API_KEYS, ApiSuite, expectErrorEnvelope, startApiSuite } from '../support/api-suite';
import { testDatabaseKinds } from '../support/databases';
import { inspectContainer } from '../support/engine-cli';
import { TEST_IMAGE } from '../support/test-env';
import { waitFor } from '../support/wait-for';

type Container = Schemas['ContainerDto'];
type CreateBody = Schemas['CreateContainerDto'];
type ListQuery = NonNullable<Operations['listContainers']['parameters']['query']>;

const MIB = 1024 * 1024;
// A runner token, as a job would pass one: it must reach the container and appear in no response at all.
const SECRET = `ghs_${randomBytes(18).toString('hex')}`;

describe.each(testDatabaseKinds())('containers API on %s', (kind) => {
  let suite: ApiSuite;

  beforeAll(async () => {
    suite = await startApiSuite(kind, 'containers', {
      // Many containers of this suite are left running until its end: the cap is not what it tests.
      MAX_CONCURRENT_CONTAINERS: '100',
      // No sampling round runs during the suite: every sample the usage summary shows was streamed from its
      // container's start on.
      STATS_INTERVAL_MS: String(60 * 60_000),
    });
  });

  afterAll(async () => {
    await suite?.close();
  });

  /** A create body for a long sleeper of this run; `overrides.config` is merged into the config. */
  function sleeper(overrides: Partial<CreateBody> = {}): CreateBody {
    const { config, ...rest } = overrides;
    return {
      jobId: `job-${suite.run}`,
      repository: `octo/${suite.run}`,
      ...rest,
      config: {
        image: TEST_IMAGE,
        command: ['sleep', '3600'],
        ...config,
        labels: { ...suite.labels, ...config?.labels },
      },
    };
  }

  async function create(body: CreateBody): Promise<Container> {
    const { data, error, response } = await suite.operator.POST('/api/containers', { body });
    expect({ status: response.status, error }).toEqual({ status: 201, error: undefined });
    return data!.data;
  }

  async function get(id: string): Promise<Container> {
    const { data, response } = await suite.viewer.GET('/api/containers/{id}', { params: { path: { id } } });
    expect(response.status).toBe(200);
    return data!.data;
  }

  describe('create and read', () => {
    it('creates and starts a container (201): running, env names only, limits and profile applied', async () => {
      const container = await create(
        sleeper({
          runnerId: `runner-${suite.run}`,
          config: { image: TEST_IMAGE, command: ['sleep', '3600'], env: { RUNNER_TOKEN: SECRET, RUNNER_NAME: 'r1' } },
          limits: { memoryMB: 64, pidsLimit: 128 },
        }),
      );
      expect(container).toMatchObject({
        id: expect.stringMatching(/^[0-9a-f-]{36}$/),
        name: expect.stringMatching(/^runner-[0-9a-f]{12}$/),
        engineId: expect.stringMatching(/^[0-9a-f]{64}$/),
        state: 'running',
        runnerId: `runner-${suite.run}`,
        jobId: `job-${suite.run}`,
        repository: `octo/${suite.run}`,
        image: TEST_IMAGE,
        command: ['sleep', '3600'],
        envNames: ['RUNNER_TOKEN', 'RUNNER_NAME'],
        labels: suite.labels,
        // The CPU quota was not asked for: it is DEFAULT_CPUS (2), never unlimited.
        limits: { memoryMB: 64, pidsLimit: 128, cpuShares: 1024, cpuQuota: 200_000, diskGB: null },
        security: { capDrop: ['ALL'], privileged: false, securityOpt: ['no-new-privileges'] },
        exitCode: null,
        resourceUsage: null,
      });
      expect(JSON.stringify(container)).not.toContain(SECRET);
      // The value did reach the container (checked by its length, so that no output carries it).
      const inspected = inspectContainer(container.engineId!);
      expect(inspected?.State.Running).toBe(true);
      expect(inspected?.HostConfig.Memory).toBe(64 * MIB);
      const { data } = await suite.admin.POST('/api/containers/{id}/exec', {
        params: { path: { id: container.id } },
        body: { command: ['sh', '-c', `[ "\${#RUNNER_TOKEN}" -eq ${SECRET.length} ]`] },
      });
      expect(data?.data.exitCode).toBe(0);
    });

    it('creates without starting when start is false', async () => {
      const container = await create(sleeper({ start: false }));
      expect(container.state).toBe('created');
      expect(inspectContainer(container.engineId!)?.State.Status).toBe('created');
    });

    it('gets one container by id, and answers 404 for an unknown or malformed id', async () => {
      const created = await create(sleeper({ start: false }));
      expect(await get(created.id)).toEqual({ ...created });

      const unknown = await suite.viewer.GET('/api/containers/{id}', {
        params: { path: { id: '3f0c1e2a-0000-4000-8000-000000000000' } },
      });
      expect(unknown.response.status).toBe(404);
      expectErrorEnvelope(unknown.error, 'NOT_FOUND');

      for (const id of ['x'.repeat(500), 'not-a-uuid', "'; DROP TABLE containers; --", '%00']) {
        const malformed = await suite.viewer.GET('/api/containers/{id}', { params: { path: { id } } });
        expect(malformed.response.status).toBe(404);
        expectErrorEnvelope(malformed.error, 'NOT_FOUND');
      }
    });

    it('serves the usage summary route, not a container called "usage"', async () => {
      const { data, response } = await suite.viewer.GET('/api/containers/usage/summary');
      expect(response.status).toBe(200);
      expect(data?.data).toMatchObject({ totalContainers: expect.any(Number), containers: expect.any(Array) });
      const bare = await fetch(`${suite.baseUrl}/api/containers/usage`, {
        headers: { authorization: `Bearer ${API_KEYS.viewer}` },
      });
      expect(bare.status).toBe(404);
    });
  });

  describe('list', () => {
    let ids: { a: string; b: string; c: string };
    const tag = () => `list-${suite.run}`;

    beforeAll(async () => {
      // a: created, repo one, runner r1; b: running, repo one, runner r2; c: created, repo two, runner r1.
      const a = await create(
        sleeper({ jobId: `${tag()}-a`, repository: `octo/${tag()}-one`, runnerId: `${tag()}-r1`, start: false }),
      );
      const b = await create(
        sleeper({ jobId: `${tag()}-b`, repository: `octo/${tag()}-one`, runnerId: `${tag()}-r2` }),
      );
      const c = await create(
        sleeper({ jobId: `${tag()}-c`, repository: `octo/${tag()}-two`, runnerId: `${tag()}-r1`, start: false }),
      );
      ids = { a: a.id, b: b.id, c: c.id };
    });

    async function list(query: ListQuery) {
      const { data, error, response } = await suite.viewer.GET('/api/containers', { params: { query } });
      expect({ status: response.status, error }).toEqual({ status: 200, error: undefined });
      return { ids: data!.data.map((c) => c.id), page: data!.page };
    }

    // Order among rows created in the same second is by id (SQLite keeps createdAt to the second), so the filters
    // are compared as sets; paging below checks that the order is stable.
    it('filters by repository, state, jobId and runnerId', async () => {
      const sorted = (found: string[]) => [...found].sort();
      const one = await list({ repository: `octo/${tag()}-one` });
      expect({ ids: sorted(one.ids), page: one.page }).toEqual({
        ids: sorted([ids.a, ids.b]),
        page: { limit: 50, offset: 0, total: 2 },
      });
      expect((await list({ repository: `octo/${tag()}-one`, state: 'running' })).ids).toEqual([ids.b]);
      expect((await list({ repository: `octo/${tag()}-one`, state: 'created' })).ids).toEqual([ids.a]);
      expect((await list({ jobId: `${tag()}-c` })).ids).toEqual([ids.c]);
      expect(sorted((await list({ runnerId: `${tag()}-r1` })).ids)).toEqual(sorted([ids.a, ids.c]));
      expect((await list({ runnerId: `${tag()}-r1`, state: 'running' })).ids).toEqual([]);
      expect((await list({ runnerId: `${tag()}-r1`, repository: `octo/${tag()}-two` })).ids).toEqual([ids.c]);
    });

    it('pages with limit and offset, and reports the total', async () => {
      const all = await list({ runnerId: `${tag()}-r1` });
      const first = await list({ runnerId: `${tag()}-r1`, limit: 1 });
      const second = await list({ runnerId: `${tag()}-r1`, limit: 1, offset: 1 });
      const beyond = await list({ runnerId: `${tag()}-r1`, limit: 1, offset: 2 });
      expect(first).toEqual({ ids: [all.ids[0]], page: { limit: 1, offset: 0, total: 2 } });
      expect(second).toEqual({ ids: [all.ids[1]], page: { limit: 1, offset: 1, total: 2 } });
      expect(beyond).toEqual({ ids: [], page: { limit: 1, offset: 2, total: 2 } });
      expect(new Set([...first.ids, ...second.ids])).toEqual(new Set([ids.a, ids.c]));
    });

    it('refuses bad filters and paging with 400 and the field named', async () => {
      for (const [query, field] of [
        ['limit=0', 'limit'],
        ['limit=501', 'limit'],
        ['limit=abc', 'limit'],
        ['offset=-1', 'offset'],
        ['state=sleeping', 'state'],
        [`jobId=${'j'.repeat(129)}`, 'jobId'],
        ['color=blue', 'color'],
      ]) {
        const response = await fetch(`${suite.baseUrl}/api/containers?${query}`, {
          headers: { authorization: `Bearer ${API_KEYS.viewer}` },
        });
        expect(response.status).toBe(400);
        const { details } = expectErrorEnvelope(await response.json(), 'VALIDATION_FAILED');
        expect(details.problems).toEqual(expect.arrayContaining([expect.objectContaining({ field })]));
      }
    });
  });

  describe('operations', () => {
    it('stops with the timeout given: SIGTERM, then SIGKILL once it has passed', async () => {
      // The shell ignores SIGTERM, so only the kill after the timeout ends it (exit 137).
      const stubborn = await create(
        sleeper({ config: { image: TEST_IMAGE, command: ['sh', '-c', 'trap "" TERM; sleep 3600'] } }),
      );
      const started = Date.now();
      const { data, response } = await suite.operator.POST('/api/containers/{id}/stop', {
        params: { path: { id: stubborn.id } },
        body: { timeout: 1 },
      });
      const took = Date.now() - started;
      expect(response.status).toBe(200);
      expect(data?.data).toMatchObject({ state: 'stopped', exitCode: 137 });
      expect(took).toBeGreaterThanOrEqual(900);
      expect(took).toBeLessThan(8_000);

      // No body at all: the default timeout, and a sleeper under init stops at once on SIGTERM (exit 143).
      const calm = await create(sleeper());
      const plain = await fetch(`${suite.baseUrl}/api/containers/${calm.id}/stop`, {
        method: 'POST',
        headers: { authorization: `Bearer ${API_KEYS.operator}` },
      });
      expect(plain.status).toBe(200);
      expect(((await plain.json()) as { data: Container }).data).toMatchObject({ state: 'stopped', exitCode: 143 });

      // Stopping a stopped container is a calm no-op; starting it again runs it.
      const again = await suite.operator.POST('/api/containers/{id}/stop', {
        params: { path: { id: calm.id } },
        body: {},
      });
      expect(again.data?.data.state).toBe('stopped');
      const restarted = await suite.operator.POST('/api/containers/{id}/start', { params: { path: { id: calm.id } } });
      expect(restarted.response.status).toBe(200);
      expect(restarted.data?.data.state).toBe('running');
    });

    it('refuses a stop timeout out of range or of the wrong type', async () => {
      const container = await create(sleeper({ start: false }));
      for (const timeout of [-1, 3601, 1.5, '10']) {
        const { error, response } = await suite.operator.POST('/api/containers/{id}/stop', {
          params: { path: { id: container.id } },
          body: { timeout } as never,
        });
        expect(response.status).toBe(400);
        const { details } = expectErrorEnvelope(error, 'VALIDATION_FAILED');
        expect((details.problems as Array<{ field: string }>).map((p) => p.field)).toEqual(
          expect.arrayContaining(['timeout']),
        );
        expect(new Set((details.problems as Array<{ field: string }>).map((p) => p.field))).toEqual(
          new Set(['timeout']),
        );
      }
    });

    it('removes: a stopped one plainly, a running one only with force (body or ?force=true) and by an admin', async () => {
      const [stoppedOne, runningOne, runningTwo] = [
        await create(sleeper()),
        await create(sleeper()),
        await create(sleeper()),
      ];
      await suite.operator.POST('/api/containers/{id}/stop', {
        params: { path: { id: stoppedOne.id } },
        body: { timeout: 0 },
      });
      const plain = await suite.operator.DELETE('/api/containers/{id}', { params: { path: { id: stoppedOne.id } } });
      expect(plain.response.status).toBe(200);
      expect(plain.data?.data.state).toBe('removed');
      expect(inspectContainer(stoppedOne.engineId!)).toBeNull();

      const refused = await suite.operator.DELETE('/api/containers/{id}', { params: { path: { id: runningOne.id } } });
      expect(refused.response.status).toBe(409);
      expect(expectErrorEnvelope(refused.error, 'ILLEGAL_TRANSITION').message).toContain('running');

      const notAdmin = await suite.operator.DELETE('/api/containers/{id}', {
        params: { path: { id: runningOne.id } },
        body: { force: true },
      });
      expect(notAdmin.response.status).toBe(403);
      expectErrorEnvelope(notAdmin.error, 'FORBIDDEN');
      expect((await get(runningOne.id)).state).toBe('running');

      const byBody = await suite.admin.DELETE('/api/containers/{id}', {
        params: { path: { id: runningOne.id } },
        body: { force: true },
      });
      expect(byBody.response.status).toBe(200);
      expect(byBody.data?.data.state).toBe('removed');
      expect(inspectContainer(runningOne.engineId!)).toBeNull();

      const byQuery = await suite.admin.DELETE('/api/containers/{id}', {
        params: { path: { id: runningTwo.id }, query: { force: true } },
      });
      expect(byQuery.response.status).toBe(200);
      expect(byQuery.data?.data.state).toBe('removed');
      expect(inspectContainer(runningTwo.engineId!)).toBeNull();

      const badFlag = await fetch(`${suite.baseUrl}/api/containers/${runningTwo.id}?force=maybe`, {
        method: 'DELETE',
        headers: { authorization: `Bearer ${API_KEYS.admin}` },
      });
      expect(badFlag.status).toBe(400);
      expectErrorEnvelope(await badFlag.json(), 'VALIDATION_FAILED');
    });

    it('runs commands: exit codes, stdout and stderr apart and together, env and working directory', async () => {
      const container = await create(sleeper());
      const exec = (body: Schemas['ExecInContainerDto']) =>
        suite.admin.POST('/api/containers/{id}/exec', { params: { path: { id: container.id } }, body });

      const failing = await exec({ command: ['sh', '-c', 'echo out; sleep 0.2; echo err >&2; exit 3'] });
      expect(failing.response.status).toBe(200);
      expect(failing.data?.data).toEqual({
        exitCode: 3,
        stdout: 'out\n',
        stderr: 'err\n',
        output: 'out\nerr\n',
        truncated: false,
      });

      const withEnv = await exec({
        command: ['sh', '-c', 'echo "$GREETING"; pwd'],
        env: ['GREETING=hello'],
        workingDir: '/tmp',
      });
      expect(withEnv.data?.data).toMatchObject({ exitCode: 0, stdout: 'hello\n/tmp\n' });

      const missing = await exec({ command: ['no-such-binary'] });
      expect(missing.response.status).toBe(200);
      expect(missing.data?.data.exitCode).toBeGreaterThanOrEqual(126);

      for (const body of [
        {},
        { command: [] },
        { command: 'ls' },
        { command: ['ls'], timeoutMs: 0 },
        { command: ['ls'], env: ['no equals'] },
      ]) {
        const bad = await exec(body as never);
        expect(bad.response.status).toBe(400);
        expectErrorEnvelope(bad.error, 'VALIDATION_FAILED');
      }

      const byOperator = await suite.operator.POST('/api/containers/{id}/exec', {
        params: { path: { id: container.id } },
        body: { command: ['true'] },
      });
      expect(byOperator.response.status).toBe(403);

      await suite.operator.POST('/api/containers/{id}/stop', {
        params: { path: { id: container.id } },
        body: { timeout: 0 },
      });
      const stopped = await exec({ command: ['true'] });
      expect(stopped.response.status).toBe(409);
      expect(expectErrorEnvelope(stopped.error, 'CONFLICT').message).toContain('stopped');
    });

    it('samples a running container (the 64 MiB limit reads back), and answers 409 for one that is not running', async () => {
      const container = await create(sleeper({ limits: { memoryMB: 64 } }));
      const { data, response } = await suite.viewer.GET('/api/containers/{id}/stats', {
        params: { path: { id: container.id } },
      });
      expect(response.status).toBe(200);
      expect(data?.data).toMatchObject({
        memoryLimit: 64 * MIB,
        memoryUsage: expect.any(Number),
        cpuPercent: expect.any(Number),
        pids: expect.any(Number),
        sampledAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
      });
      expect(data!.data.memoryUsage).toBeGreaterThan(0);
      expect(data!.data.memoryUsage).toBeLessThanOrEqual(64 * MIB);

      const idle = await create(sleeper({ start: false }));
      const refused = await suite.viewer.GET('/api/containers/{id}/stats', { params: { path: { id: idle.id } } });
      expect(refused.response.status).toBe(409);
      expect(expectErrorEnvelope(refused.error, 'CONFLICT').message).toContain('created');
    });

    it('reads the last lines of the logs, stdout and stderr apart, with timestamps on request', async () => {
      const container = await create(
        sleeper({
          config: {
            image: TEST_IMAGE,
            command: [
              'sh',
              '-c',
              'echo one; echo two; sleep 0.3; echo three >&2; sleep 0.3; echo four; exec sleep 3600',
            ],
          },
        }),
      );
      const logs = (query: { tail?: number; timestamps?: boolean }) =>
        suite.viewer.GET('/api/containers/{id}/logs', { params: { path: { id: container.id }, query } });
      const all = await waitFor(
        async () => {
          const lines = (await logs({})).data?.data.lines;
          return lines && lines.length === 4 ? lines : undefined;
        },
        { description: 'four log lines' },
      );
      expect(all).toEqual([
        { stream: 'stdout', text: 'one' },
        { stream: 'stdout', text: 'two' },
        { stream: 'stderr', text: 'three' },
        { stream: 'stdout', text: 'four' },
      ]);
      expect((await logs({ tail: 1 })).data?.data.lines).toEqual([{ stream: 'stdout', text: 'four' }]);
      const stamped = (await logs({ tail: 2, timestamps: true })).data!.data.lines;
      expect(stamped.map((line) => line.text)).toEqual(['three', 'four']);
      for (const line of stamped) expect(line.timestamp).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+Z$/);

      for (const query of ['tail=0', 'tail=10001', 'tail=ten', 'timestamps=yes']) {
        const response = await fetch(`${suite.baseUrl}/api/containers/${container.id}/logs?${query}`, {
          headers: { authorization: `Bearer ${API_KEYS.viewer}` },
        });
        expect(response.status).toBe(400);
        expectErrorEnvelope(await response.json(), 'VALIDATION_FAILED');
      }
    });

    it('shows the transition history with reasons, actors and the exit code', async () => {
      const container = await create(sleeper());
      await suite.operator.POST('/api/containers/{id}/stop', {
        params: { path: { id: container.id } },
        body: { timeout: 5 },
      });
      await suite.operator.DELETE('/api/containers/{id}', { params: { path: { id: container.id } } });
      const { data, response } = await suite.viewer.GET('/api/containers/{id}/events', {
        params: { path: { id: container.id } },
      });
      expect(response.status).toBe(200);
      const history = data!.data;
      expect(history.map((row) => [row.fromState, row.toState])).toEqual([
        [null, 'creating'],
        ['creating', 'created'],
        ['created', 'starting'],
        ['starting', 'running'],
        ['running', 'stopping'],
        ['stopping', 'stopped'],
        ['stopped', 'removing'],
        ['removing', 'removed'],
      ]);
      expect(history[5]).toMatchObject({ exitCode: 143, reason: 'stopped (exit 143)' });
      for (const row of history) {
        expect(row.actor).toEqual(expect.any(String));
        expect(row.actor).not.toBe('system');
        expect(Date.parse(row.at)).not.toBeNaN();
      }

      const unknown = await suite.viewer.GET('/api/containers/{id}/events', {
        params: { path: { id: '3f0c1e2a-0000-4000-8000-000000000000' } },
      });
      expect(unknown.response.status).toBe(404);
    });

    it('answers the usage summary from the samples streamed since each container started, never asking the engine', async () => {
      const mine = [
        await create(sleeper({ limits: { memoryMB: 32 } })),
        await create(sleeper({ limits: { memoryMB: 32 } })),
      ];
      // Sampling on the caller's time is what made this route take seconds: the engine is not asked while it answers.
      const engineSamples = jest.spyOn(suite.app.get(EngineRegistry).get('default').engine, 'stats');
      const summary = async () => {
        const { data, response } = await suite.viewer.GET('/api/containers/usage/summary');
        expect(response.status).toBe(200);
        return data!.data;
      };
      const rowsOf = (found: Schemas['UsageSummaryDto']) =>
        mine.map((container) => found.containers.find((row) => row.id === container.id));
      try {
        // Right after their start: listed, each with its first sample or flagged as awaiting it.
        const first = await summary();
        for (const row of rowsOf(first)) {
          expect(row).toBeDefined();
          if (row!.awaitingFirstSample)
            expect(row).toMatchObject({ resourceUsage: null, sampledAt: null, ageMs: null });
        }
        expect(first.awaitingFirstSample).toBe(first.containers.filter((row) => row.awaitingFirstSample).length);

        // Within seconds, with no sampling round in this suite: the stream opened at each start delivered.
        const sampled = await waitFor(
          async () => {
            const found = await summary();
            return rowsOf(found).every((row) => row?.resourceUsage) ? found : null;
          },
          { timeoutMs: 15_000, intervalMs: 250, description: 'a streamed sample of both new containers' },
        );
        const answeredAt = Date.now();
        expect(sampled.staleAfterMs).toBe(2 * 60 * 60_000);
        for (const row of rowsOf(sampled)) {
          expect(row).toMatchObject({
            name: expect.stringMatching(/^runner-/),
            jobId: `job-${suite.run}`,
            stale: false,
            awaitingFirstSample: false,
            sampledAt: row!.resourceUsage!.sampledAt,
          });
          expect(row!.resourceUsage!.memoryLimit).toBe(32 * MIB);
          // Its age is the time from the engine's sample to the answer: seconds at most, as a sample streams each second.
          expect(row!.ageMs).toBeGreaterThanOrEqual(0);
          expect(row!.ageMs).toBeLessThanOrEqual(answeredAt - Date.parse(row!.sampledAt!));
          expect(row!.ageMs).toBeLessThan(10_000);
          expect(Date.parse(row!.sampledAt!)).toBeGreaterThan(Date.parse(mine[0].createdAt) - 1_000);
        }
        expect(engineSamples).not.toHaveBeenCalled();
      } finally {
        engineSamples.mockRestore();
      }
    });

    it('sums the usage of every running container, and the totals equal the sum of the rows', async () => {
      const runningIds = async () => {
        const { data: running } = await suite.viewer.GET('/api/containers', {
          params: { query: { state: 'running', limit: 500 } },
        });
        return new Set(running!.data.map((c) => c.id));
      };
      // Containers of earlier tests may still be settling: the summary is compared with the running list before and
      // after it.
      const runningBefore = await runningIds();
      const { data, response } = await suite.viewer.GET('/api/containers/usage/summary');
      expect(response.status).toBe(200);
      const summary = data!.data;
      const runningAfter = await runningIds();
      expect(summary.totalContainers).toBe(summary.containers.length);
      const sampled = summary.containers.flatMap((row) => (row.resourceUsage ? [row.resourceUsage] : []));
      // At least the two of the test above, sampled since.
      expect(sampled.length).toBeGreaterThanOrEqual(2);
      expect(summary.awaitingFirstSample).toBe(summary.containers.length - sampled.length);
      expect(summary.staleContainers).toBe(summary.containers.filter((row) => row.stale).length);
      const sum = (pick: (usage: Schemas['ResourceUsageDto']) => number) => sampled.reduce((t, u) => t + pick(u), 0);
      expect(summary.totalCpuPercent).toBeCloseTo(
        sum((u) => u.cpuPercent),
        6,
      );
      expect(summary.totalMemoryMB).toBeCloseTo(sum((u) => u.memoryUsage) / MIB, 6);
      expect(summary.totalNetworkRxMB).toBeCloseTo(sum((u) => u.networkRx) / MIB, 6);
      expect(summary.totalNetworkTxMB).toBeCloseTo(sum((u) => u.networkTx) / MIB, 6);
      // Only running containers: none of the created or stopped ones of this run; every one running throughout.
      const summarised = summary.containers.map((row) => row.id);
      expect(summarised.filter((id) => !runningBefore.has(id) && !runningAfter.has(id))).toEqual([]);
      expect([...runningBefore].filter((id) => runningAfter.has(id) && !summarised.includes(id))).toEqual([]);
    });
  });

  describe('failures', () => {
    it('refuses bad bodies with 400 and details.problems: unknown field, wrong type, out of range, malformed JSON', async () => {
      const cases: Array<[unknown, string]> = [
        [{ ...sleeper(), colour: 'blue' }, 'colour'],
        [{ ...sleeper(), config: { ...sleeper().config, privileged: true } }, 'config.privileged'],
        [{ ...sleeper(), jobId: 42 }, 'jobId'],
        [{ ...sleeper(), start: 'yes' }, 'start'],
        [{ ...sleeper(), config: { ...sleeper().config, env: { TOKEN: 7 } } }, 'config.env'],
        [{ ...sleeper(), config: { ...sleeper().config, env: { 'BAD NAME': 'x' } } }, 'config.env'],
        [{ ...sleeper(), limits: { memoryMB: 2 } }, 'limits.memoryMB'],
        [{ ...sleeper(), limits: { pidsLimit: 1.5 } }, 'limits.pidsLimit'],
        [{ ...sleeper(), config: { ...sleeper().config, command: [] } }, 'config.command'],
        [{ ...sleeper(), security: { usernsMode: 'private' } }, 'security.usernsMode'],
        [{ ...sleeper(), jobId: 'j'.repeat(129) }, 'jobId'],
        [{ jobId: 'no-config' }, 'config'],
        [{ ...sleeper(), config: [sleeper().config] }, 'config'],
      ];
      for (const [body, field] of cases) {
        const { error, response } = await suite.operator.POST('/api/containers', { body: body as CreateBody });
        expect({ field, status: response.status }).toEqual({ field, status: 400 });
        const { details } = expectErrorEnvelope(error, 'VALIDATION_FAILED');
        expect(details.problems).toEqual(expect.arrayContaining([expect.objectContaining({ field })]));
      }

      const malformed = await suite.operator.POST('/api/containers', {
        body: sleeper(),
        bodySerializer: () => `{"config": {"image": "${TEST_IMAGE}"`,
      });
      expect(malformed.response.status).toBe(400);
      const { details } = expectErrorEnvelope(malformed.error, 'MALFORMED_REQUEST');
      expect(details.problems).toEqual([expect.objectContaining({ field: 'body' })]);

      // The service checks limits against its own ceilings too (LIMIT_MAX_MEMORY_MB is 32768 by default).
      const overCeiling = await suite.operator.POST('/api/containers', {
        body: sleeper({ limits: { memoryMB: 65_536 } }),
      });
      expect(overCeiling.response.status).toBe(400);
      const ceiling = expectErrorEnvelope(overCeiling.error, 'VALIDATION_FAILED');
      expect(ceiling.details.problems).toEqual([expect.objectContaining({ field: 'limits.memoryMB' })]);

      // Nothing was created by any of these.
      const { data } = await suite.viewer.GET('/api/containers', {
        params: { query: { jobId: `job-${suite.run}`, state: 'creating' } },
      });
      expect(data?.page.total).toBe(0);
    });

    it('answers 404 for an unknown id on every container route', async () => {
      const id = '3f0c1e2a-0000-4000-8000-000000000000';
      const path = { params: { path: { id } } };
      const answers = [
        await suite.viewer.GET('/api/containers/{id}', path),
        await suite.operator.POST('/api/containers/{id}/start', path),
        await suite.operator.POST('/api/containers/{id}/stop', { ...path, body: {} }),
        await suite.operator.DELETE('/api/containers/{id}', path),
        await suite.admin.POST('/api/containers/{id}/exec', { ...path, body: { command: ['true'] } }),
        await suite.viewer.GET('/api/containers/{id}/stats', path),
        await suite.viewer.GET('/api/containers/{id}/logs', path),
        await suite.viewer.GET('/api/containers/{id}/events', path),
      ];
      for (const answer of answers) {
        expect(answer.response.status).toBe(404);
        expect(expectErrorEnvelope(answer.error, 'NOT_FOUND').message).toContain(id);
      }
    });

    it('answers 409 naming the state for an illegal transition: starting a removed container', async () => {
      const container = await create(sleeper({ start: false }));
      await suite.operator.DELETE('/api/containers/{id}', { params: { path: { id: container.id } } });
      const { error, response } = await suite.operator.POST('/api/containers/{id}/start', {
        params: { path: { id: container.id } },
      });
      expect(response.status).toBe(409);
      const { message, details } = expectErrorEnvelope(error, 'ILLEGAL_TRANSITION');
      expect(message).toContain('is removed');
      expect(details).toMatchObject({ id: container.id, state: 'removed' });
    });

    it('answers 422 for an image the engine does not have, and the record ends in error with the reason', async () => {
      const jobId = `missing-image-${suite.run}`;
      const { error, response } = await suite.operator.POST('/api/containers', {
        body: sleeper({ jobId, config: { image: 'runnerhub-test/does-not-exist:1' } }),
      });
      expect(response.status).toBe(422);
      expect(expectErrorEnvelope(error, 'IMAGE_NOT_FOUND').message).toContain('runnerhub-test/does-not-exist:1');
      const { data } = await suite.viewer.GET('/api/containers', { params: { query: { jobId } } });
      expect(data?.data).toHaveLength(1);
      expect(data!.data[0]).toMatchObject({
        state: 'error',
        engineId: null,
        stateReason: expect.stringContaining('does-not-exist'),
      });
    });

    it('never shows an env value: not in any response this suite received, the audit log included', async () => {
      // An exec's env is as secret as the container's: it reaches the process and nothing else.
      const running = await create(sleeper());
      const exec = await suite.admin.POST('/api/containers/{id}/exec', {
        params: { path: { id: running.id } },
        body: { command: ['sh', '-c', '[ -n "$EXEC_TOKEN" ]'], env: [`EXEC_TOKEN=${SECRET}`] },
      });
      expect(exec.data?.data).toMatchObject({ exitCode: 0, output: '' });
      const audit = await suite.admin.GET('/api/audit', {});
      expect(audit.response.status).toBe(200);

      expect(suite.responses.length).toBeGreaterThan(50);
      expect(suite.responses.filter((text) => text.includes(SECRET))).toEqual([]);
    });
  });
});
