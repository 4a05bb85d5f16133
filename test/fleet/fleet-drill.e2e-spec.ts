import { randomBytes } from 'node:crypto';
import { createServer, request, Server } from 'node:http';
import { AddressInfo } from 'node:net';
import { API_KEYS } from '../support/api-suite';
import { createTestDatabase, TestDatabase } from '../support/databases';
import { SecondEngine } from '../support/docker-second-engine';
import { docker, removeLabelled } from '../support/engine-cli';
import { DUTIES, Duty, sampleDutyLeaders } from '../support/duty-leaders';
import { FakeGitHub } from '../support/fake-github';
import { ACTIONS_STANDIN, BRISK_QUEUE_ENV, REAL_WEBHOOK_SECRET } from '../support/real-runner-suite';
import { ServiceProcess } from '../support/service-process';
import { TEST_DATABASE_URL, TEST_LABEL } from '../support/test-env';
import { waitFor } from '../support/wait-for';

const TOKEN = 'ghp_fleet_drill_token_0123456789abcdef';
/** Jobs per burst: enough for every engine to fill and drain several times over (FLEET_DRILL_JOBS to change it). */
const JOBS = Number(process.env.FLEET_DRILL_JOBS ?? 9);
const SLOTS_PER_ENGINE = 3;
const PROBE_MS = 500;
const LEADERSHIP_RETRY_MS = 500;
const UNREACHABLE_AFTER_MS = 2_000;
const MAIN_HOST = process.env.DOCKER_HOST ?? 'unix:///var/run/docker.sock';

type JobView = {
  id: string;
  githubJobId: string | null;
  state: string;
  conclusion: string | null;
  engineName: string | null;
  placement: string | null;
  githubRunnerName: string | null;
};

type ContainerView = {
  id: string;
  name: string;
  engineName: string;
  state: string;
  stateReason: string | null;
  jobId: string | null;
  createdAt: string;
};

/** A load balancer in front of the replicas, round robin, as nginx would be: webhooks land on any of them. */
async function startBalancer(targets: () => ServiceProcess[]): Promise<{ url: string; server: Server }> {
  let next = 0;
  const server = createServer((incoming, outgoing) => {
    const live = targets();
    const target = live[next++ % live.length];
    const forwarded = request(
      { host: '127.0.0.1', port: target.port, path: incoming.url, method: incoming.method, headers: incoming.headers },
      (answer) => {
        outgoing.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(outgoing);
      },
    );
    forwarded.on('error', () => outgoing.writeHead(502).end());
    incoming.pipe(forwarded);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server };
}

const onPostgres = TEST_DATABASE_URL ? describe : describe.skip;

/**
 * The fleet drill: three engines (the main one and two dockerds of the test's own, each with a bridge of its own,
 * so that runners everywhere reach the fake GitHub) and three RunnerHub processes on one PostgreSQL behind a round-robin
 * balancer that the fake GitHub sends its webhooks to. Runners are the real-contract `actions` stand-in.
 */
onPostgres(
  `a fleet of three engines and three replicas${TEST_DATABASE_URL ? '' : ' (skipped: needs TEST_DATABASE_URL)'}`,
  () => {
    const suffix = randomBytes(3).toString('hex');
    const network = `rh-fleet-${suffix}`;
    let engines: Record<'b' | 'c', SecondEngine>;
    let github: FakeGitHub;
    let database: TestDatabase;
    let balancer: { url: string; server: Server };
    let replicas: ServiceProcess[] = [];

    const hostOf = (engine: string) => (engine === 'a' ? MAIN_HOST : engines[engine as 'b' | 'c'].dockerHost);

    beforeAll(async () => {
      docker(['network', 'create', '--label', `${TEST_LABEL}=fleet-drill`, network]);
      const gateway = docker(['network', 'inspect', network, '-f', '{{(index .IPAM.Config 0).Gateway}}']).trim();
      const bridgeIndex = 60 + (parseInt(suffix, 16) % 100);
      engines = {
        b: await SecondEngine.create({
          bridge: { name: `rhb${suffix}`, cidr: `172.31.${bridgeIndex}.1/24` },
          images: [ACTIONS_STANDIN],
        }),
        c: await SecondEngine.create({
          bridge: { name: `rhc${suffix}`, cidr: `172.30.${bridgeIndex}.1/24` },
          images: [ACTIONS_STANDIN],
        }),
      };
      github = await FakeGitHub.start({
        token: TOKEN,
        listenHost: gateway,
        apiPrefix: '/api/v3',
        assignment: 'random',
        longPollMs: 2000,
      });
      database = await createTestDatabase('postgres');
      balancer = await startBalancer(() => replicas);
      github.sendWebhooksTo(`${balancer.url}/api/webhooks/github`, REAL_WEBHOOK_SECRET);
    }, 300_000);

    afterAll(async () => {
      await Promise.all(replicas.map((replica) => replica.stop()));
      await new Promise((resolve) => balancer?.server.close(resolve));
      await github?.stop();
      removeLabelled(`${TEST_LABEL}=fleet-drill`);
      // Runners a failed drill left on the main engine (the others go with their dockerd).
      for (const drill of ['spread', 'pack', 'loss']) {
        removeLabelled(`runnerhub.repository=octo-org/fleet-${drill}-${suffix}`);
      }
      await Promise.all(Object.values(engines ?? {}).map((engine) => engine.cleanup()));
      try {
        docker(['network', 'rm', network]);
      } catch {
        // Already gone.
      }
      await database?.drop();
    }, 120_000);

    async function startReplicas(placement: 'spread' | 'pack'): Promise<void> {
      await Promise.all(replicas.map((replica) => replica.stop()));
      const env = {
        ...database.env,
        RUNNERHUB_API_KEYS: `${API_KEYS.admin}:admin,${API_KEYS.operator}:operator,${API_KEYS.viewer}:viewer`,
        GITHUB_API_URL: github.apiUrl,
        GITHUB_TOKEN: TOKEN,
        GITHUB_WEBHOOK_SECRET: REAL_WEBHOOK_SECRET,
        RUNNER_IMAGE: ACTIONS_STANDIN,
        RUNNER_IMAGE_FAMILY: 'actions',
        RUNNER_IMAGE_PULL: 'never',
        RUNNER_LABELS: 'self-hosted,linux,x64',
        RUNNER_MEMORY_MB: '512',
        DOCKER_ENGINES: JSON.stringify([
          { name: 'a', host: MAIN_HOST, network, maxContainers: SLOTS_PER_ENGINE },
          { name: 'b', host: engines.b.dockerHost, network: 'bridge', maxContainers: SLOTS_PER_ENGINE },
          { name: 'c', host: engines.c.dockerHost, network: 'bridge', maxContainers: SLOTS_PER_ENGINE },
        ]),
        PLACEMENT: placement,
        MAX_CONCURRENT_CONTAINERS: String(3 * SLOTS_PER_ENGINE),
        ...BRISK_QUEUE_ENV,
        RATE_LIMIT_READS_PER_MINUTE: '100000',
        LEADERSHIP_RETRY_MS: String(LEADERSHIP_RETRY_MS),
        // A webhook sent to the replica the drill kills is lost (GitHub does not resend it): a job left without news
        // is asked of GitHub's REST API after this long, on the drill's time scale rather than production's 10 min.
        JOB_COMPLETION_TIMEOUT_MS: '10000',
        ENGINE_PROBE_INTERVAL_MS: String(PROBE_MS),
        ENGINE_UNREACHABLE_AFTER_MS: String(UNREACHABLE_AFTER_MS),
      };
      // One after the other: the first runs the migrations.
      replicas = [];
      for (let i = 0; i < 3; i++) replicas.push(await ServiceProcess.start(env));
    }

    async function jobsOf(repository: string): Promise<JobView[]> {
      const response = await fetch(`${replicas[0].baseUrl}/api/jobs?repository=${repository}&limit=500`, {
        headers: { authorization: `Bearer ${API_KEYS.viewer}` },
      });
      return ((await response.json()) as { data: JobView[] }).data;
    }

    /** RunnerHub's records of the repository's containers, removed ones included. */
    async function containersOf(repository: string): Promise<ContainerView[]> {
      const response = await fetch(`${replicas[0].baseUrl}/api/containers?repository=${repository}&limit=500`, {
        headers: { authorization: `Bearer ${API_KEYS.viewer}` },
      });
      return ((await response.json()) as { data: ContainerView[] }).data;
    }

    /** Live runner containers of the repository on each engine, as that engine's docker CLI lists them. */
    function liveOn(repository: string): Record<string, number> {
      const count = (engine: string) =>
        docker(['ps', '-q', '--filter', `label=runnerhub.repository=${repository}`], { host: hostOf(engine) })
          .split('\n')
          .filter(Boolean).length;
      return { a: count('a'), b: count('b'), c: count('c') };
    }

    /** Samples every engine until stopped; returns the most containers each engine held at once. */
    function sampleCapacity(repository: string): { stop: () => Promise<Record<string, number>> } {
      const peak: Record<string, number> = { a: 0, b: 0, c: 0 };
      let running = true;
      const loop = (async () => {
        while (running) {
          const now = liveOn(repository);
          for (const engine of Object.keys(peak)) peak[engine] = Math.max(peak[engine], now[engine]);
          await new Promise((resolve) => setTimeout(resolve, 200));
        }
      })();
      return {
        stop: async () => {
          running = false;
          await loop;
          return peak;
        },
      };
    }

    function burst(repository: string): number[] {
      return Array.from({ length: JOBS }, () =>
        github.queueWorkflowJob({ repository, labels: ['self-hosted', 'linux'], steps: ['true'] }),
      ).map(({ id }) => id);
    }

    async function expectNothingLeft(repository: string): Promise<void> {
      // A replica killed between registering a runner and making its container leaves a registration that the stale
      // sweep releases after JOB_ASSIGN_TIMEOUT_MS (120 s).
      const registered = () => github.runners().filter((r) => r.scope === repository);
      await waitFor(() => (registered().length === 0 ? true : null), {
        timeoutMs: 180_000,
        description: 'no runner of the burst left registered on GitHub',
      }).catch((error: Error) => {
        throw new Error(`${error.message}: ${JSON.stringify(registered().map((r) => [r.name, r.status]))}`);
      });
      const leftovers = () =>
        ['a', 'b', 'c'].flatMap((engine) =>
          docker(
            ['ps', '-a', '--format', '{{.Names}} {{.Status}}', '--filter', `label=runnerhub.repository=${repository}`],
            {
              host: hostOf(engine),
            },
          )
            .split('\n')
            .filter(Boolean)
            .map((line) => `${engine}: ${line}`),
        );
      await waitFor(() => (leftovers().length === 0 ? true : null), {
        timeoutMs: 60_000,
        description: 'no container of the burst left on any engine',
      }).catch(async (error: Error) => {
        // Say what was left, and what RunnerHub's records make of it.
        const records = (await containersOf(repository)).filter((record) => record.state !== 'removed');
        throw new Error(`${error.message}: ${JSON.stringify({ left: leftovers(), records })}`);
      });
    }

    /** Waits for every job of the burst to be completed on GitHub, then checks each ran once, on a runner of its own. */
    async function expectEachRanOnce(ids: number[], repository: string, placement: 'spread' | 'pack') {
      await waitFor(() => (ids.every((id) => github.workflowJob(id)?.status === 'completed') ? true : null), {
        timeoutMs: 600_000,
        intervalMs: 500,
        description: `all ${ids.length} jobs to be completed on GitHub`,
      });
      // GitHub's side: every job ran once (one run of its one step) and succeeded, each on a runner of its own.
      const githubJobs = ids.map((id) => github.workflowJob(id)!);
      expect(githubJobs.map((job) => [job.conclusion, job.stepResults.length])).toEqual(ids.map(() => ['success', 1]));
      expect(new Set(githubJobs.map((job) => job.runnerName)).size).toBe(ids.length);
      // RunnerHub's side: one job per GitHub job, each completed on a known engine, placed by the chosen mode.
      const jobs = await waitFor(
        async () => {
          const all = await jobsOf(repository);
          return all.length === ids.length && all.every((job) => job.state === 'completed') ? all : null;
        },
        { timeoutMs: 60_000, description: 'RunnerHub to show every job completed' },
      );
      expect(new Set(jobs.map((job) => job.githubJobId)).size).toBe(ids.length);
      // Every webhook of the burst was taken by whichever replica the balancer chose (the killed one's in-flight
      // calls aside: GitHub does not resend them, and RunnerHub asks GitHub when a runner ends).
      const refused = github
        .deliveries()
        .filter((delivery) => ids.includes(delivery.jobId) && (delivery.status === null || delivery.status >= 300));
      if (refused.length > 0) {
        console.log(`Fleet drill: deliveries not taken: ${JSON.stringify(refused.map(({ payload: _, ...d }) => d))}`);
      }
      for (const job of jobs) {
        expect(['a', 'b', 'c']).toContain(job.engineName);
        expect(job.placement).toMatch(new RegExp(`\\(${placement}\\)$`));
      }
      return jobs;
    }

    it(`spreads ${JOBS} webhook jobs, each run once within capacity, while the leader replica is killed`, async () => {
      await startReplicas('spread');
      const repository = `octo-org/fleet-spread-${suffix}`;
      const sampler = sampleCapacity(repository);
      const ids = burst(repository);
      await waitFor(() => (Object.values(liveOn(repository)).some((live) => live > 0) ? true : null), {
        timeoutMs: 60_000,
        intervalMs: 200,
        description: 'the first runners of the burst',
      });

      // SIGKILL the replica leading the most duties, mid-burst; the balancer sends to the survivors from then on.
      const { leaders } = await sampleDutyLeaders(replicas);
      const counts = replicas.map((replica) => DUTIES.filter((duty) => leaders[duty][0] === replica).length);
      const victim = replicas[counts.indexOf(Math.max(...counts))];
      const orphaned = DUTIES.filter((duty) => leaders[duty][0] === victim);
      replicas = replicas.filter((replica) => replica !== victim);
      await victim.kill();
      const killedAt = Date.now();
      // Every duty's holders counted at every sample while the burst runs on: never two at once.
      const takenAt = new Map<Duty, number>();
      const doubleLeaders: string[] = [];
      let sampling = true;
      const leaderSamples = (async () => {
        while (sampling) {
          const now = await sampleDutyLeaders(replicas);
          for (const duty of DUTIES) {
            if (now.leaders[duty].length > 1) doubleLeaders.push(duty);
            if (now.leaders[duty].length === 1 && !takenAt.has(duty)) takenAt.set(duty, Date.now() - killedAt);
          }
          await new Promise((resolve) => setTimeout(resolve, 100));
        }
      })();

      await expectEachRanOnce(ids, repository, 'spread');
      sampling = false;
      await leaderSamples;
      const peak = await sampler.stop();
      expect(doubleLeaders).toEqual([]);
      // The dead leader's duties were taken within the lease (its session ends with it; a survivor retries each
      // LEADERSHIP_RETRY_MS), with room for a loaded machine.
      for (const duty of orphaned) expect(takenAt.get(duty)).toBeLessThanOrEqual(3 * LEADERSHIP_RETRY_MS + 2_000);
      console.log(`Fleet drill: duties ${orphaned.join(', ')} moved after SIGKILL in ${JSON.stringify([...takenAt])}`);
      // Capacity at every sampled instant; the burst really used the fleet.
      for (const engine of ['a', 'b', 'c']) expect(peak[engine]).toBeLessThanOrEqual(SLOTS_PER_ENGINE);
      const jobs = await jobsOf(repository);
      expect(new Set(jobs.map((job) => job.engineName)).size).toBe(3);
      await expectNothingLeft(repository);
    }, 900_000);

    it(`packs ${JOBS} webhook jobs, each run once within capacity, and empties an engine drained under load`, async () => {
      await startReplicas('pack');
      const repository = `octo-org/fleet-pack-${suffix}`;
      const sampler = sampleCapacity(repository);
      const ids = burst(repository);
      // Pack fills the first engine (a) first: drain it once it is full.
      await waitFor(() => (liveOn(repository).a === SLOTS_PER_ENGINE ? true : null), {
        timeoutMs: 60_000,
        intervalMs: 200,
        description: 'engine a full',
      });
      const drained = await fetch(`${replicas[1].baseUrl}/api/engines/a/drain`, {
        method: 'POST',
        headers: { authorization: `Bearer ${API_KEYS.admin}` },
      });
      expect(drained.status).toBe(200);
      const drainedAt = Date.now();

      await expectEachRanOnce(ids, repository, 'pack');
      const peak = await sampler.stop();
      for (const engine of ['a', 'b', 'c']) expect(peak[engine]).toBeLessThanOrEqual(SLOTS_PER_ENGINE);
      // No container was made on a after its drain was answered; what ran there finished, and it is drained.
      const onA = (await containersOf(repository)).filter((container) => container.engineName === 'a');
      expect(onA.length).toBeGreaterThanOrEqual(SLOTS_PER_ENGINE);
      for (const container of onA) expect(new Date(container.createdAt).getTime()).toBeLessThanOrEqual(drainedAt);
      await waitFor(
        async () => {
          const response = await fetch(`${replicas[2].baseUrl}/api/engines/a`, {
            headers: { authorization: `Bearer ${API_KEYS.viewer}` },
          });
          return ((await response.json()) as { data: { state: string } }).data.state === 'drained' ? true : null;
        },
        { timeoutMs: 30_000, description: 'engine a to be drained' },
      );
      await expectNothingLeft(repository);
      // Back in service for the next drill.
      const undrained = await fetch(`${replicas[0].baseUrl}/api/engines/a`, {
        method: 'PATCH',
        headers: { authorization: `Bearer ${API_KEYS.admin}`, 'content-type': 'application/json' },
        body: JSON.stringify({ state: 'active' }),
      });
      expect(undrained.status).toBe(200);
    }, 900_000);

    it('moves the waiting jobs of an engine that stops answering, loses none, and cleans up when it is back', async () => {
      await startReplicas('spread');
      const repository = `octo-org/fleet-loss-${suffix}`;
      const ids = burst(repository);
      await waitFor(() => (liveOn(repository).c > 0 ? true : null), {
        timeoutMs: 60_000,
        intervalMs: 100,
        description: 'a runner on engine c',
      });
      // As a host's service manager stops dockerd: its containers are stopped, a runner with a job cancels it. The
      // engine answers until dockerd has exited, so the clock starts then.
      await engines.c.stop();
      const stoppedAt = Date.now();

      // Unreachable within the grace plus two probe intervals, and nothing placed there after.
      const unreachable = await waitFor(
        async () => {
          const response = await fetch(`${replicas[1].baseUrl}/api/engines/c`, {
            headers: { authorization: `Bearer ${API_KEYS.viewer}` },
          });
          const { data } = (await response.json()) as { data: { state: string } };
          return data.state === 'unreachable' ? Date.now() : null;
        },
        { timeoutMs: 30_000, intervalMs: 100, description: 'engine c to be unreachable' },
      );
      console.log(`Fleet drill: engine c unreachable ${unreachable - stoppedAt} ms after its dockerd exited`);
      expect(unreachable - stoppedAt).toBeLessThanOrEqual(UNREACHABLE_AFTER_MS + 2 * PROBE_MS + 3_000);

      // Every job ends: those GitHub had handed to a runner on c were cancelled with it (their runner was stopped),
      // every other one succeeded, elsewhere; no job ran twice.
      await waitFor(() => (ids.every((id) => github.workflowJob(id)?.status === 'completed') ? true : null), {
        timeoutMs: 600_000,
        intervalMs: 500,
        description: 'every job of the burst to end on GitHub',
      });
      const githubJobs = ids.map((id) => github.workflowJob(id)!);
      for (const job of githubJobs) {
        expect(job.stepResults.length).toBeLessThanOrEqual(1);
        expect(['success', 'cancelled']).toContain(job.conclusion);
      }
      const jobs = await waitFor(
        async () => {
          const all = await jobsOf(repository);
          return all.length === JOBS && all.every((job) => ['completed', 'cancelled'].includes(job.state)) ? all : null;
        },
        { timeoutMs: 120_000, description: 'RunnerHub to settle every job' },
      ).catch(async (error: Error) => {
        const unsettled = (await jobsOf(repository)).filter((job) => !['completed', 'cancelled'].includes(job.state));
        const github = unsettled.map((job) => githubJobs.find((own) => String(own.id) === job.githubJobId));
        throw new Error(`${error.message}: ${JSON.stringify({ unsettled, github })}`);
      });
      // RunnerHub's verdicts are GitHub's, job by job.
      for (const job of jobs) {
        const own = githubJobs.find((candidate) => String(candidate.id) === job.githubJobId)!;
        expect(job.state).toBe(own.conclusion === 'success' ? 'completed' : 'cancelled');
      }

      // Back: the engine is active again, and what was left on it goes.
      await engines.c.start();
      await waitFor(
        async () => {
          const response = await fetch(`${replicas[2].baseUrl}/api/engines/c`, {
            headers: { authorization: `Bearer ${API_KEYS.viewer}` },
          });
          const { data } = (await response.json()) as { data: { state: string } };
          return data.state === 'active' ? true : null;
        },
        { timeoutMs: 30_000, description: 'engine c to be active again' },
      );
      await expectNothingLeft(repository);
    }, 900_000);
  },
);
