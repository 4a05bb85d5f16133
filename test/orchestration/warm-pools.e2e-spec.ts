import { testDatabaseKinds } from '../support/databases';
import { docker } from '../support/engine-cli';
import { scrapeMetric } from '../support/metrics-scrape';
import { RealRunnerSuite, startRealRunnerSuite } from '../support/real-runner-suite';
import { waitFor } from '../support/wait-for';

/** The labels of the pool's runners, and the labels of the jobs it serves (the strict profile, the default image). */
const POOL_LABELS = ['self-hosted', 'linux', 'x64'];
const SERVED = ['self-hosted', 'linux'];
/** A job the pool cannot serve: `sudo` chooses the standard profile, and the pool's runners run under strict. */
const NOT_SERVED = ['self-hosted', 'sudo'];

/**
 * Warm pools against the real-contract runner stand-ins: idle runners registered just in time and started ahead of
 * demand, which GitHub (the fake, handing jobs to any idle runner with matching labels, in random order) gives queued
 * jobs to; the pool refills, shares MAX_CONCURRENT_CONTAINERS with the queue, is adopted after a restart, retires
 * idle runners (GitHub registration first) and scales to zero.
 */
describe.each(testDatabaseKinds())('warm pools on %s', (kind) => {
  let suite: RealRunnerSuite;
  let noteIds: NodeJS.Timeout | undefined;

  beforeAll(async () => {
    suite = await startRealRunnerSuite(kind, 'pools');
  }, 180_000);

  afterAll(async () => {
    clearInterval(noteIds);
    await suite?.close();
  });

  function pools(definition: Record<string, unknown>, extra: Record<string, string> = {}) {
    const pool = { name: 'warm', repository: suite.repository, labels: POOL_LABELS, ...definition };
    return { RUNNER_POOLS: JSON.stringify([pool]), ...extra };
  }

  async function pool() {
    const { data, error } = await suite.viewer.GET('/api/pools/{name}', { params: { path: { name: 'warm' } } });
    if (!data) throw new Error(`GET /api/pools/warm failed: ${JSON.stringify(error)}`);
    return data.data;
  }

  /** The pool's runners GitHub lists (idle ones waiting for a job, or running one). */
  const poolRunnersOnGitHub = () =>
    suite.github.runners().filter((runner) => runner.name.startsWith('runnerhub-warm-'));
  const runningOnEngine = () =>
    docker(['ps', '-q', '--filter', `label=runnerhub.repository=${suite.repository}`])
      .split('\n')
      .filter(Boolean);

  /** What the pool, GitHub and the engine hold now: said when a wait times out, so a failure explains itself. */
  async function explained<T>(wait: Promise<T>): Promise<T> {
    try {
      return await wait;
    } catch (error) {
      const { data } = await suite.viewer.GET('/api/containers', {
        params: { query: { repository: suite.repository, limit: 100 } },
      });
      const containers = data?.data
        .filter((container) => container.state !== 'removed')
        .map((c) => `${c.name} ${c.state} job=${c.jobId} runner=${c.runnerId}`);
      const runners = suite.github.runners().map((runner) => `${runner.name} ${runner.status}`);
      const state = { pool: await pool(), containers, onEngine: suite.containersOnEngine().length, runners };
      throw new Error(`${(error as Error).message}; now: ${JSON.stringify(state)}`);
    }
  }

  async function readyPool(size: number) {
    return explained(
      waitFor(
        async () => {
          const online = poolRunnersOnGitHub().filter((runner) => runner.status === 'online');
          return (await pool()).runners.ready === size && online.length === size ? online.map((r) => r.name) : null;
        },
        { timeoutMs: 90_000, intervalMs: 250, description: `${size} idle pool runners online on GitHub` },
      ),
    );
  }

  async function settled(labels: string[], steps: string[]) {
    const { githubJobId, job } = await suite.queue(labels, steps);
    return { githubJobId, job: await suite.waitForJob(job.id, ['completed', 'failed', 'cancelled'], 90_000) };
  }

  /** Every finished runner container gone by the cleanup policy: only the idle pool's remain. */
  async function onlyPoolContainersLeft(size: number) {
    await explained(
      waitFor(
        async () => ((await pool()).runners.ready === size && suite.containersOnEngine().length === size ? true : null),
        { timeoutMs: 60_000, intervalMs: 250, description: `only the ${size} idle pool containers to be left` },
      ),
    );
  }

  it('gives a queued job an idle runner at once, and refills the pool with a new one', async () => {
    await suite.restart(pools({ minIdle: 2, maxIdle: 2, idleTimeoutMs: 600_000 }));
    const idle = await readyPool(2);

    const { githubJobId, job } = await settled(SERVED, ['echo warm']);
    expect(job).toMatchObject({ state: 'completed', conclusion: 'success' });
    // GitHub gave the job to one of the idle pool runners, started before the job was queued.
    expect(idle).toContain(job.githubRunnerName);
    expect(suite.github.workflowJob(githubJobId)!.runnerName).toBe(job.githubRunnerName);
    const status = await pool();
    expect(status.hits).toBeGreaterThanOrEqual(1);
    expect(status).toMatchObject({ labels: POOL_LABELS, minIdle: 2, maxIdle: 2, profile: 'strict' });
    const { data: all } = await suite.viewer.GET('/api/pools');
    expect(all!.data.map((listed) => listed.name)).toEqual(['warm']);
    const unknown = await suite.viewer.GET('/api/pools/{name}', { params: { path: { name: 'nope' } } });
    expect(unknown.response.status).toBe(404);
    expect(unknown.error).toMatchObject({
      error: { code: 'NOT_FOUND', message: expect.stringMatching(/GET \/api\/pools/) },
    });

    // The pool is back to two idle runners, the one that ran the job replaced by a new registration.
    const refilled = await readyPool(2);
    expect(refilled).not.toContain(job.githubRunnerName);
    await onlyPoolContainersLeft(2);
    expect(await scrapeMetric(suite.baseUrl, 'runnerhub_pool_runners{pool="warm",state="ready"}')).toBe(2);
  }, 240_000);

  it('serves a burst larger than the pool: the excess gets runners made for it, nothing runs twice or leaks', async () => {
    await readyPool(2);
    const burst = await Promise.all(Array.from({ length: 5 }, (_, i) => settled(SERVED, [`echo burst ${i}`])));

    for (const { githubJobId, job } of burst) {
      expect(job).toMatchObject({ state: 'completed', conclusion: 'success' });
      const onGitHub = suite.github.workflowJob(githubJobId)!;
      expect(onGitHub.stepResults).toHaveLength(1);
      expect(onGitHub.runnerName).toBe(job.githubRunnerName);
    }
    // Each job on a runner of its own: ephemeral runners take one job each.
    expect(new Set(burst.map(({ job }) => job.githubRunnerName)).size).toBe(burst.length);

    // Afterwards the pool holds its two idle runners, and GitHub lists nothing else of this repository.
    const idle = await readyPool(2);
    await onlyPoolContainersLeft(2);
    expect(
      suite.github
        .runners()
        .map((runner) => runner.name)
        .sort(),
    ).toEqual([...idle].sort());
  }, 300_000);

  it('adopts its idle runners after a restart rather than starting more', async () => {
    const idle = (await readyPool(2)).sort();
    const containers = suite.containersOnEngine().sort();
    await suite.restart(pools({ minIdle: 2, maxIdle: 2, idleTimeoutMs: 600_000 }));

    // Several rounds of the pool keeper have looked at the pool since the restart.
    await waitFor(
      async () => (await scrapeMetric(suite.baseUrl, 'runnerhub_duty_runs_total{duty="runner-pools"}')) >= 3 || null,
      { timeoutMs: 30_000, intervalMs: 250, description: 'three rounds of the pool keeper' },
    );
    expect(
      poolRunnersOnGitHub()
        .map((runner) => runner.name)
        .sort(),
    ).toEqual(idle);
    expect(suite.containersOnEngine().sort()).toEqual(containers);
    expect((await pool()).runners).toEqual({ ready: 2, warming: 0, serving: 0 });
  }, 120_000);

  it('shares MAX_CONCURRENT_CONTAINERS with the queue: idle runners give way to a job the pool cannot serve', async () => {
    await suite.restart(pools({ minIdle: 2, maxIdle: 2, idleTimeoutMs: 600_000 }, { MAX_CONCURRENT_CONTAINERS: '2' }));
    await readyPool(2);

    // Every slot is held by the idle pool; a job of other labels must still run.
    let most = 0;
    const sampler = setInterval(() => {
      most = Math.max(most, runningOnEngine().length);
    }, 200);
    try {
      const { job } = await settled(NOT_SERVED, ['sudo true']);
      expect(job).toMatchObject({ state: 'completed', conclusion: 'success', profile: 'standard' });
    } finally {
      clearInterval(sampler);
    }
    expect(most).toBeLessThanOrEqual(2);
    // The slot the job had goes back to the pool once the job is done.
    await readyPool(2);
  }, 240_000);

  it('retires idle runners after the idle timeout, GitHub registration first, scales to zero and back', async () => {
    const before = poolRunnersOnGitHub();
    expect(before).toHaveLength(2);
    const since = suite.poolEvents.length;
    await suite.restart(pools({ minIdle: 0, maxIdle: 1, idleTimeoutMs: 3_000 }));
    const recorded = () => suite.poolEvents.slice(since);
    const retiredNames = () =>
      recorded()
        .filter((event) => event.name === 'pool:runner-retired')
        .map((event) => event.payload.runnerName as string);
    // GitHub's id of every pool runner registered from now on (an idle runner lives at least the idle timeout).
    const githubIds = new Map(before.map((runner) => [runner.name, runner.id]));
    noteIds = setInterval(() => {
      for (const runner of poolRunnersOnGitHub()) githubIds.set(runner.name, runner.id);
    }, 50);
    /** The pool is empty everywhere: in RunnerHub, on GitHub and on the engine. */
    const scaledToZero = async () => {
      const { ready, warming } = (await pool()).runners;
      const empty = ready + warming === 0 && poolRunnersOnGitHub().length === 0;
      return empty && suite.containersOnEngine().length === 0 ? true : null;
    };

    await waitFor(scaledToZero, { timeoutMs: 60_000, intervalMs: 250, description: 'the pool to scale to zero' });
    expect(retiredNames().sort()).toEqual(before.map((runner) => runner.name).sort());

    // A job the pool serves finds no idle runner (a miss) and gets one made; the demand warms an idle runner (which
    // GitHub may give the job instead), and once the demand is older than the idle timeout the pool is empty again.
    const missesBefore = (await pool()).misses;
    const { job } = await settled(SERVED, ['echo cold']);
    expect(job).toMatchObject({ state: 'completed', conclusion: 'success' });
    expect((await pool()).misses).toBe(missesBefore + 1);
    expect(recorded().some((event) => event.name === 'pool:runner-started')).toBe(true);
    await waitFor(scaledToZero, { timeoutMs: 60_000, intervalMs: 250, description: 'the pool to be empty again' });
    clearInterval(noteIds);

    // Every retired runner left GitHub before its container began to go.
    for (const name of retiredNames()) {
      const [deleted] = suite.github.requestsTo(new RegExp(`/actions/runners/${githubIds.get(name)}$`), 'DELETE');
      const removal = recorded().find(
        (event) => event.name === 'container:removing' && String(event.payload.reason).includes(name),
      );
      expect({ runner: name, deleted: !!deleted, removed: !!removal }).toEqual({
        runner: name,
        deleted: true,
        removed: true,
      });
      expect(deleted.at).toBeLessThanOrEqual(removal!.at);
    }
  }, 300_000);
});
