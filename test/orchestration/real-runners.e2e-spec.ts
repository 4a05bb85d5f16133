import { testDatabaseKinds } from '../support/databases';
import { docker, inspectContainer } from '../support/engine-cli';
import {
  RealRunnerSuite,
  startRealRunnerSuite,
  UNREACHABLE_REGISTRY,
  WRONG_REGISTRY_PASSWORD,
} from '../support/real-runner-suite';
import { waitFor } from '../support/wait-for';

/**
 * Real GitHub jobs, end to end, on the real engine: GitHub (the fake) queues a workflow job and sends `queued`;
 * RunnerHub pulls the runner image from a real registry, registers a runner just in time and starts it with its image
 * family's contract; the runner (a stand-in that keeps the official image's contract) asks GitHub for a job, GitHub
 * hands it one (any idle runner with matching labels: not always the one made for it) and reports in_progress and
 * completed; the job ends with GitHub's conclusion, the registration is gone, the container goes by the cleanup policy.
 */
describe.each(testDatabaseKinds())('real runners on %s', (kind) => {
  let suite: RealRunnerSuite;

  beforeAll(async () => {
    suite = await startRealRunnerSuite(kind, 'real');
  }, 180_000);

  afterAll(async () => {
    await suite?.close();
  });

  async function settled(labels: string[], steps: string[]) {
    const { githubJobId, job } = await suite.queue(labels, steps);
    const done = await suite.waitForJob(job.id, ['completed', 'failed', 'cancelled'], 90_000);
    return { githubJobId, job: done };
  }

  /** The container that ran the job: GitHub may have given it a runner made for another job. */
  async function containerOf(job: { containerId: string | null }) {
    const { data } = await suite.viewer.GET('/api/containers/{id}', { params: { path: { id: job.containerId! } } });
    return data!.data;
  }

  it('pulls the image, runs the job on the actions family and shows GitHub’s failure although the runner exited 0', async () => {
    // The engine asks for the manifest by tag (HEAD) on every pull; it may skip the GET for a manifest it knows.
    const manifestAsks = () =>
      suite.registry.requests().filter((r) => r.method === 'HEAD' && r.path.endsWith('/manifests/2.336.0')).length;
    const asksBefore = manifestAsks();
    const { githubJobId, job } = await settled(['self-hosted', 'linux'], ['echo step one', 'exit 3', 'echo never']);

    expect(job).toMatchObject({
      state: 'failed',
      conclusion: 'failure',
      failureCode: 'JOB_FAILED',
      resultSource: 'github',
      profile: 'strict',
      imageDigest: await suite.registry.manifestDigest('actions/actions-runner:2.336.0'),
    });
    expect(job.githubRunnerName).toMatch(/^runnerhub-/);
    const onGitHub = suite.github.workflowJob(githubJobId)!;
    expect(onGitHub.stepResults).toEqual([
      { name: expect.any(String), exitCode: 0 },
      { name: expect.any(String), exitCode: 3 },
    ]);
    expect(onGitHub.runnerName).toBe(job.githubRunnerName);
    // The image came from the registry, in one pull.
    expect(manifestAsks()).toBeGreaterThan(asksBefore);
    const pulls = suite.imageEvents.filter((e) => e.name === 'image:pulled' && e.image === suite.actionsImage);
    expect(pulls).toHaveLength(1);

    // The runner exited 0, as real runners do whatever the job's result; its container ran the image's contract.
    const container = await containerOf(job);
    expect(container).toMatchObject({ command: ['/home/runner/run.sh'], user: null, imageDigest: job.imageDigest });
    expect(container.envNames).toContain('ACTIONS_RUNNER_INPUT_JITCONFIG');
    const stopped = await waitFor(
      async () => {
        const { data } = await suite.viewer.GET('/api/containers/{id}/events', {
          params: { path: { id: container.id } },
        });
        return data!.data.find((transition) => transition.toState === 'stopped') ?? null;
      },
      { timeoutMs: 30_000, description: 'the runner container to stop' },
    );
    expect(stopped.exitCode).toBe(0);

    // Its registration is gone from GitHub, and the cleanup policy removes the container.
    expect(suite.github.runners().find((r) => r.name === job.githubRunnerName)).toBeUndefined();
    await waitFor(
      async () => {
        const { data } = await suite.viewer.GET('/api/containers/{id}', { params: { path: { id: container.id } } });
        return data?.data.state === 'removed' ? true : null;
      },
      { timeoutMs: 30_000, description: 'the cleanup policy to remove the finished runner' },
    );
  }, 180_000);

  it('completes a successful job, and the next job takes the image already on the engine', async () => {
    const before = suite.imageEvents.filter((e) => e.name === 'image:pulled').length;
    const { job } = await settled(['self-hosted'], ['echo hello', 'test -w /home/runner/_work']);
    expect(job).toMatchObject({ state: 'completed', conclusion: 'success', failureCode: null });
    expect(suite.imageEvents.filter((e) => e.name === 'image:pulled').length).toBe(before);
  }, 120_000);

  it('fails `sudo` under the strict profile and lets it work under standard, saying why', async () => {
    const strict = await settled(['self-hosted', 'linux'], ['sudo true']);
    expect(strict.job).toMatchObject({ state: 'failed', conclusion: 'failure', profile: 'strict' });

    const standard = await settled(['self-hosted', 'sudo'], ['sudo true', 'sudo id -u | grep -qx 0']);
    expect(standard.job).toMatchObject({ state: 'completed', conclusion: 'success', profile: 'standard' });
    expect(standard.job.profileReason).toMatch(/label sudo maps to standard/);
    const container = await containerOf(standard.job);
    expect(container.security).toMatchObject({ profile: 'standard', capDrop: ['ALL'], privileged: false });
    expect(container.security.securityOpt).not.toContain('no-new-privileges');
  }, 180_000);

  it('runs `docker run` under the docker profile with a daemon of its own, and nothing of it outlives the job', async () => {
    const strict = await settled(['self-hosted'], ['docker version']);
    expect(strict.job).toMatchObject({ state: 'failed', profile: 'strict' });

    const { job } = await settled(
      ['self-hosted', 'docker'],
      [
        'docker import /opt/standin/busybox.tar standin-tiny:1',
        'docker run --rm --network none standin-tiny:1 echo hello from a nested container',
      ],
    );
    expect(job).toMatchObject({ state: 'completed', conclusion: 'success', profile: 'docker' });
    const container = await containerOf(job);
    expect(container.envNames).toContain('DOCKER_HOST');
    // The host's socket is never mounted: the runner's mounts are the unit's own volumes.
    const mounts = JSON.parse(docker(['inspect', '-f', '{{json .Mounts}}', container.engineId!])) as Array<{
      Type: string;
      Source: string;
    }>;
    expect(mounts.every((mount) => mount.Type === 'volume')).toBe(true);
    expect(JSON.stringify(mounts)).not.toContain('docker.sock');
    // The daemon goes with its runner; its volumes with the runner's removal by the cleanup policy.
    const unit = `label=runnerhub.unit=${container.id}`;
    await waitFor(() => (docker(['ps', '-aq', '--filter', unit]).trim() === '' ? true : null), {
      timeoutMs: 30_000,
      description: 'the job’s Docker daemon to be gone',
    });
    await waitFor(() => (docker(['volume', 'ls', '-q', '--filter', unit]).trim() === '' ? true : null), {
      timeoutMs: 30_000,
      description: 'the job’s daemon volumes to be gone',
    });
  }, 180_000);

  it('settles 20 jobs GitHub hands to runners in random order, each with its own conclusion, leaving nothing', async () => {
    const queued = await Promise.all(
      Array.from({ length: 20 }, (_, i) => suite.queue(['self-hosted', 'linux'], [i % 3 === 0 ? 'false' : 'true'])),
    );
    const done = await Promise.all(
      queued.map(({ job }) => suite.waitForJob(job.id, ['completed', 'failed', 'cancelled'], 150_000)),
    );
    queued.forEach(({ githubJobId }, i) => {
      const own = suite.github.workflowJob(githubJobId)!;
      expect(own.conclusion).toBe(i % 3 === 0 ? 'failure' : 'success');
      expect(done[i]).toMatchObject({ conclusion: own.conclusion, githubRunnerName: own.runnerName });
      expect(done[i].state).toBe(i % 3 === 0 ? 'failed' : 'completed');
    });
    // GitHub really did give runners to jobs they were not made for (random assignment), and it all came out even.
    const crossed = done.filter((job) => !job.githubRunnerName!.startsWith(`runnerhub-${job.id.slice(0, 8)}`));
    expect(crossed.length).toBeGreaterThan(0);
    await waitFor(
      () => (suite.github.runners().filter((r) => r.scope === suite.repository).length === 0 ? true : null),
      { timeoutMs: 60_000, description: 'no runner of the suite left registered on GitHub' },
    );
    await waitFor(() => (suite.containersOnEngine().length === 0 ? true : null), {
      timeoutMs: 90_000,
      description: 'no runner container of the suite left on the engine',
    });
  }, 300_000);

  it('asks GitHub’s REST API for the verdict when the completed webhook never comes', async () => {
    await suite.restart({ JOB_COMPLETION_TIMEOUT_MS: '1500' });
    try {
      suite.github.suppressWebhooks('completed');
      const { githubJobId, job } = await settled(['self-hosted'], ['exit 1']);
      expect(suite.github.deliveries().some((d) => d.jobId === githubJobId && d.action === 'completed')).toBe(false);
      expect(job).toMatchObject({ state: 'failed', conclusion: 'failure', failureCode: 'JOB_FAILED' });
      const asked = suite.github.requestsTo(new RegExp(`/actions/jobs/${githubJobId}$`), 'GET');
      expect(asked.length).toBeGreaterThan(0);
    } finally {
      await suite.restart();
    }
  }, 120_000);

  it('gives a job a new runner, without counting the try, when its runner is removed from GitHub while it waits', async () => {
    // GitHub deletes the waiting runner (as after handing it another job, or as an admin does): the runner's poll
    // gets 404 and it exits 0 without a job. Its registration is gone, so the job was not at fault.
    suite.github.sendAwayNextRunners(/^runnerhub-/, 1);
    const { job } = await settled(['self-hosted'], ['true']);
    expect(job).toMatchObject({ state: 'completed', conclusion: 'success', attempts: 1 });
    expect(suite.jobEvents).toContainEqual(
      expect.objectContaining({
        jobId: job.id,
        name: 'job:queued',
        reason: expect.stringMatching(/ended gone from GitHub while the job still waits.*this try does not count$/),
      }),
    );
  }, 120_000);

  it('pulls the image again and retries when GitHub finds the runner too old (exit 7)', async () => {
    const pullsBefore = suite.imageEvents.filter((e) => e.name === 'image:pulled').length;
    suite.github.setDeprecatedRunners(true);
    const { job } = await suite.queue(['self-hosted'], ['true']);
    await waitFor(() => (suite.jobEvents.some((e) => e.jobId === job.id && /too old/.test(e.reason)) ? true : null), {
      timeoutMs: 60_000,
      description: 'the outdated runner to be noticed',
    });
    suite.github.setDeprecatedRunners(false);
    const done = await suite.waitForJob(job.id, ['completed', 'failed'], 90_000);
    expect(done).toMatchObject({ state: 'completed', conclusion: 'success' });
    // The image was on the engine already (if-not-present): only the retry pulled it again, as an outdated runner asks.
    expect(suite.imageEvents.filter((e) => e.name === 'image:pulled').length).toBeGreaterThan(pullsBefore);
  }, 180_000);

  it('fails clearly, with nothing stuck, for a missing image, a refused password and an unreachable registry', async () => {
    const submit = async (image: string) => {
      const { data, response } = await suite.operator.POST('/api/jobs', {
        body: { repository: suite.repository, labels: ['self-hosted'], image },
      });
      expect(response.status).toBe(201);
      return suite.waitForJob(data!.data.id, ['failed', 'completed'], 60_000);
    };
    const missing = await submit(`${suite.registry.host}/nobody/nothing:1`);
    expect(missing).toMatchObject({ state: 'failed', failureCode: 'IMAGE_PULL_FAILED', attempts: 1 });
    expect(missing.failureReason).toMatch(/nobody\/nothing:1/);

    const refused = await submit(suite.lockedImage);
    expect(refused).toMatchObject({ state: 'failed', failureCode: 'IMAGE_PULL_FAILED', attempts: 1 });
    expect(refused.failureReason).toMatch(new RegExp(suite.lockedRegistry.host.replace(/\./g, '\\.')));
    expect(refused.failureReason).toMatch(/unauthorized|authentication/i);
    expect(refused.failureReason).not.toContain(WRONG_REGISTRY_PASSWORD);

    const unreachable = await submit(`${UNREACHABLE_REGISTRY}/nowhere/runner:1`);
    expect(unreachable).toMatchObject({ state: 'failed', failureCode: 'IMAGE_PULL_FAILED', attempts: 3 });
    // No registration was made for any of them, and no container.
    for (const job of [missing, refused, unreachable]) {
      expect(job.runnerId).toBeNull();
      expect((await suite.viewer.GET('/api/containers', { params: { query: { jobId: job.id } } })).data!.data).toEqual(
        [],
      );
    }
  }, 180_000);

  it('runs a job on the myoung34 family: registration token, user 1001:121, RUN_AS_ROOT=false', async () => {
    await suite.restart({ RUNNER_IMAGE_FAMILY: 'myoung34', RUNNER_IMAGE: suite.myoung34Image });
    try {
      const { job } = await settled(['self-hosted', 'linux'], ['echo from myoung34', 'test "$(id -u)" = 1001']);
      expect(job).toMatchObject({ state: 'completed', conclusion: 'success' });
      const container = await containerOf(job);
      expect(container).toMatchObject({ user: '1001:121', command: null });
      expect(container.envNames).toEqual(expect.arrayContaining(['RUNNER_TOKEN', 'RUN_AS_ROOT', 'REPO_URL']));
      expect(container.envNames).not.toContain('ACTIONS_RUNNER_INPUT_JITCONFIG');
      const registered = suite.github.requestsTo(/registration-token$/, 'POST');
      expect(registered.length).toBeGreaterThan(0);
      expect(inspectContainer(container.engineId!)?.Config.Image).toBe(suite.myoung34Image);
    } finally {
      await suite.restart();
    }
  }, 180_000);

  it('fails a custom family with a bad command in a named state, leaving no runner behind', async () => {
    await suite.restart({
      RUNNER_IMAGE_FAMILY: 'custom',
      RUNNER_CUSTOM_COMMAND: '["/home/runner/no-such-command"]',
      RUNNER_CUSTOM_JIT_ENV: 'ACTIONS_RUNNER_INPUT_JITCONFIG',
    });
    try {
      const { job } = await suite.queue(['self-hosted'], ['true']);
      const failed = await suite.waitForJob(job.id, ['failed', 'completed'], 90_000);
      // The runner's init cannot exec the command (exit 127): every try ends without GitHub giving it the job.
      expect(failed).toMatchObject({ state: 'failed', failureCode: 'RUNNER_UNUSED', attempts: 3 });
      expect(failed.failureReason).toMatch(/exit code 127: its command was not found/);
      await waitFor(
        () => (suite.github.runners().filter((r) => r.scope === suite.repository).length === 0 ? true : null),
        { timeoutMs: 30_000, description: 'the failed runners to be removed from GitHub' },
      );
      const running = docker(['ps', '-q', '--filter', `label=runnerhub.job=${job.id}`]).trim();
      expect(running).toBe('');
    } finally {
      await suite.restart();
    }
  }, 180_000);
});
