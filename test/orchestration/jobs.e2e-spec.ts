import { randomInt, randomUUID } from 'node:crypto';
import { expectErrorEnvelope } from '../support/api-suite';
import { testDatabaseKinds } from '../support/databases';
import { docker, inspectContainer } from '../support/engine-cli';
import { signedDelivery, workflowJobPayload } from '../support/github-webhooks';
import { startOrchestrationSuite, OrchestrationSuite, WEBHOOK_SECRET } from '../support/orchestration-suite';
import { TEST_RUNNER_FAILING_IMAGE } from '../support/test-env';
import { waitFor } from '../support/wait-for';

const LABELS = ['self-hosted', 'linux'];

type Receipt = { deliveryId: string; duplicate: boolean; outcome: string; jobId: string | null; detail: string };

describe.each(testDatabaseKinds())('jobs end to end on %s', (kind) => {
  let suite: OrchestrationSuite;

  beforeAll(async () => {
    suite = await startOrchestrationSuite(kind, 'jobs');
  });

  afterAll(async () => {
    await suite?.close();
  });

  async function submit(body: { labels?: string[]; image?: string } = {}) {
    const { data, response } = await suite.operator.POST('/api/jobs', {
      body: { repository: suite.repository, labels: LABELS, ...body },
    });
    expect(response.status).toBe(201);
    return data!.data;
  }

  async function deliver(payload: unknown, options: { deliveryId?: string; secret?: string } = {}) {
    const delivery = signedDelivery(options.secret ?? WEBHOOK_SECRET, payload, { deliveryId: options.deliveryId });
    const response = await fetch(`${suite.baseUrl}/api/webhooks/github`, {
      method: 'POST',
      headers: delivery.headers,
      body: delivery.body,
    });
    return { status: response.status, body: (await response.json()) as { data: Receipt } };
  }

  it('runs a job from POST /api/jobs in an ephemeral runner registered just in time, and completes it', async () => {
    const queued = await submit();
    expect(queued).toMatchObject({ state: 'queued', repository: suite.repository, labels: LABELS, attempts: 0 });

    const running = await suite.waitForJob(queued.id, ['running', 'completed']);
    const container = inspectContainer(running.containerId ? await engineIdOf(running.containerId) : '')!;
    expect(container.Config.Labels).toMatchObject({
      'runnerhub.managed': 'true',
      'runnerhub.type': 'ephemeral',
      'runnerhub.job': queued.id,
      'runnerhub.repository': suite.repository,
    });
    const env: Record<string, string> = Object.fromEntries(
      container.Config.Env.map((line) => line.split(/=(.*)/s).slice(0, 2)),
    );
    // The busybox stand-in is a `custom` family image: the common variables and the JIT config where it reads it.
    expect(env).toMatchObject({ REPO_URL: `https://github.com/${suite.repository}`, LABELS: LABELS.join(',') });
    expect(env.RUNNER_JITCONFIG).toEqual(expect.any(String));
    const registered = suite.github.runners().find((runner) => runner.name === env.RUNNER_NAME);
    expect(registered).toMatchObject({ registeredWith: 'jit', labels: expect.arrayContaining(LABELS) });
    expect(container.HostConfig).toMatchObject({ Memory: 64 * 1024 * 1024, CpuShares: 512, Privileged: false });

    const completed = await suite.waitForJob(queued.id, ['completed', 'failed']);
    expect(completed).toMatchObject({ state: 'completed', attempts: 1, failureReason: null });
    expect(Date.parse(completed.finishedAt!)).toBeGreaterThanOrEqual(Date.parse(completed.startedAt!));
    const record = await suite.viewer.GET('/api/containers/{id}', { params: { path: { id: completed.containerId! } } });
    expect(record.data?.data).toMatchObject({ state: 'stopped', exitCode: 0 });

    expect(suite.jobEvents.filter((e) => e.jobId === queued.id).map((e) => e.name)).toEqual([
      'job:queued',
      'job:assigned',
      'job:running',
      'job:completed',
    ]);
    // The JIT configuration went to the container and nowhere else.
    const secretText = String(env.RUNNER_JITCONFIG);
    const { data: listed } = await suite.viewer.GET('/api/jobs', {
      params: { query: { repository: suite.repository } },
    });
    expect(JSON.stringify(listed)).not.toContain(secretText);
    expect(JSON.stringify(record.data)).not.toContain(secretText);
    expect(JSON.stringify(suite.jobEvents)).not.toContain(secretText);
  });

  it('marks a job failed with the exit code when its runner fails', async () => {
    const job = await submit({ image: TEST_RUNNER_FAILING_IMAGE });
    const failed = await suite.waitForJob(job.id, ['completed', 'failed']);
    expect(failed).toMatchObject({ state: 'failed', failureReason: 'runner exited with code 1' });
  });

  it('queues a job from a signed workflow_job webhook once, however often GitHub delivers it', async () => {
    const githubJobId = randomInt(1e9, 2 ** 47);
    const payload = workflowJobPayload({
      action: 'queued',
      jobId: githubJobId,
      runId: githubJobId + 1,
      repository: suite.repository,
      labels: LABELS,
    });
    const deliveryId = randomUUID();
    const first = await deliver(payload, { deliveryId });
    expect(first.status).toBe(202);
    expect(first.body.data).toMatchObject({
      deliveryId,
      duplicate: false,
      outcome: 'queued',
      jobId: expect.any(String),
    });
    const again = await deliver(payload, { deliveryId });
    expect(again.status).toBe(202);
    expect(again.body.data).toMatchObject({ deliveryId, duplicate: true, outcome: 'queued' });
    const redelivered = await deliver(payload);
    expect(redelivered.body.data).toMatchObject({ duplicate: false, outcome: 'ignored' });

    const { data } = await suite.viewer.GET('/api/jobs', { params: { query: { repository: suite.repository } } });
    const fromGitHub = data!.data.filter((job) => job.githubJobId === String(githubJobId));
    expect(fromGitHub).toHaveLength(1);
    const jobId = first.body.data.jobId!;
    expect(fromGitHub[0]).toMatchObject({ id: jobId, githubRunId: String(githubJobId + 1) });

    // A GitHub job waits, assigned, until GitHub reports it in progress on a runner: GitHub decides which.
    const assigned = await waitFor(
      async () => {
        const job = await suite.waitForJob(jobId, ['assigned']);
        return job.containerId ? job : null;
      },
      { timeoutMs: 30_000, description: 'the webhook job to have a runner container' },
    );
    expect(assigned).toMatchObject({ resultSource: 'github', profile: 'strict', githubRunnerName: null });
    const runnerName = suite.github
      .runners()
      .find((runner) => runner.name.startsWith(`runnerhub-${jobId.slice(0, 8)}`))!.name;
    const progress = await deliver(
      workflowJobPayload({
        action: 'in_progress',
        jobId: githubJobId,
        runId: githubJobId + 1,
        repository: suite.repository,
        labels: LABELS,
        runnerName,
        runnerId: 1,
      }),
    );
    expect(progress.body.data).toMatchObject({ outcome: 'updated', jobId });
    expect(await suite.waitForJob(jobId, ['running'])).toMatchObject({ githubRunnerName: runnerName });
    const completion = workflowJobPayload({
      action: 'completed',
      jobId: githubJobId,
      runId: githubJobId + 1,
      repository: suite.repository,
      labels: LABELS,
      conclusion: 'success',
      runnerName,
    });
    expect((await deliver(completion)).body.data).toMatchObject({ outcome: 'updated', jobId });
    const done = await suite.waitForJob(jobId, ['completed', 'failed']);
    expect(done).toMatchObject({ state: 'completed', conclusion: 'success', resultSource: 'github' });
  });

  it('refuses a delivery whose signature does not match, and queues nothing', async () => {
    const githubJobId = randomInt(1e9, 2 ** 47);
    const payload = workflowJobPayload({
      action: 'queued',
      jobId: githubJobId,
      runId: 1,
      repository: suite.repository,
      labels: LABELS,
    });
    const forged = await deliver(payload, { secret: 'not-the-secret' });
    expect(forged.status).toBe(401);
    expectErrorEnvelope(forged.body, 'INVALID_SIGNATURE');
    const { data } = await suite.viewer.GET('/api/jobs', { params: { query: { repository: suite.repository } } });
    expect(data!.data.some((job) => job.githubJobId === String(githubJobId))).toBe(false);
  });

  it('acknowledges and ignores jobs asking for labels it does not serve; the API refuses them', async () => {
    const githubJobId = randomInt(1e9, 2 ** 47);
    const ignored = await deliver(
      workflowJobPayload({
        action: 'queued',
        jobId: githubJobId,
        runId: 1,
        repository: suite.repository,
        labels: ['gpu'],
      }),
    );
    expect(ignored.status).toBe(202);
    expect(ignored.body.data).toMatchObject({
      outcome: 'ignored',
      jobId: null,
      detail: expect.stringContaining('gpu'),
    });

    const { response, error } = await suite.operator.POST('/api/jobs', {
      body: { repository: suite.repository, labels: ['self-hosted', 'gpu'] },
    });
    expect(response.status).toBe(422);
    expect(expectErrorEnvelope(error, 'LABELS_NOT_SERVED').message).toContain('gpu');
    const invalid = await suite.operator.POST('/api/jobs', { body: { repository: 'not a repository' } });
    expect(invalid.response.status).toBe(400);
  });

  it('cancels a running job: its container stops, its runner leaves GitHub, a second cancel is refused', async () => {
    const job = await submit();
    const running = await suite.waitForJob(job.id, ['running']);
    const engineId = await engineIdOf(running.containerId!);
    const { data, response } = await suite.operator.POST('/api/jobs/{id}/cancel', { params: { path: { id: job.id } } });
    expect(response.status).toBe(200);
    expect(data!.data).toMatchObject({ state: 'cancelled', failureReason: expect.stringContaining('cancelled by') });
    expect(inspectContainer(engineId)?.State.Running).toBe(false);
    const env = inspectContainer(engineId)!.Config.Env.find((line) => line.startsWith('RUNNER_NAME='))!;
    await waitFor(() => !suite.github.runners().some((runner) => `RUNNER_NAME=${runner.name}` === env), {
      description: 'the runner to be removed from GitHub',
    });
    const twice = await suite.operator.POST('/api/jobs/{id}/cancel', { params: { path: { id: job.id } } });
    expect(twice.response.status).toBe(409);
    expect(expectErrorEnvelope(twice.error, 'ILLEGAL_TRANSITION').message).toContain('cancelled');
    // Its end settles nothing further: it stays cancelled.
    expect((await suite.waitForJob(job.id, ['cancelled'])).state).toBe('cancelled');
  });

  async function engineIdOf(containerId: string): Promise<string> {
    const { data } = await suite.viewer.GET('/api/containers/{id}', { params: { path: { id: containerId } } });
    return data!.data.engineId!;
  }
});

describe.each(testDatabaseKinds())('the job queue under limits and faults on %s', (kind) => {
  let suite: OrchestrationSuite;

  beforeAll(async () => {
    suite = await startOrchestrationSuite(kind, 'queue');
  });

  afterAll(async () => {
    await suite?.close();
  });

  async function submitMany(count: number) {
    const ids: string[] = [];
    for (let i = 0; i < count; i++) {
      const { data } = await suite.operator.POST('/api/jobs', {
        body: { repository: suite.repository, labels: LABELS },
      });
      ids.push(data!.data.id);
    }
    return ids;
  }

  it('never has more than MAX_CONCURRENT_CONTAINERS (5) runners live for 20 jobs, and completes them all', async () => {
    const ids = await submitMany(20);
    let most = 0;
    let done = false;
    const watching = (async () => {
      while (!done) {
        most = Math.max(most, suite.liveRunnerContainers().length);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    })();
    try {
      for (const id of ids)
        expect((await suite.waitForJob(id, ['completed', 'failed'], 120_000)).state).toBe('completed');
    } finally {
      done = true;
      await watching;
    }
    expect(most).toBeLessThanOrEqual(5);
    expect(most).toBeGreaterThanOrEqual(2);
  }, 180_000);

  it('loses no queued job across a restart of the service', async () => {
    await suite.restart({ MAX_CONCURRENT_CONTAINERS: '1' });
    const ids = await submitMany(4);
    await suite.waitForJob(ids[0], ['running']);
    await suite.restart({ MAX_CONCURRENT_CONTAINERS: '2' });
    for (const id of ids) expect((await suite.waitForJob(id, ['completed', 'failed'], 90_000)).state).toBe('completed');
  }, 150_000);

  it('retries a registration GitHub answers with 500, then runs the job', async () => {
    suite.github.failNext(2, 500, /generate-jitconfig/);
    const [id] = await submitMany(1);
    const done = await suite.waitForJob(id, ['completed', 'failed']);
    expect(done).toMatchObject({ state: 'completed', attempts: 3 });
    const retries = suite.jobEvents.filter((e) => e.jobId === id && e.name === 'job:queued').slice(1);
    expect(retries.map((e) => e.reason)).toEqual([
      expect.stringMatching(/^try 1 of 3 failed: .*500/),
      expect.stringMatching(/^try 2 of 3 failed: .*500/),
    ]);
  });

  it('fails a job clearly after three tries when GitHub does not answer, leaving no container', async () => {
    suite.github.hangNext(3, /generate-jitconfig/);
    const [id] = await submitMany(1);
    const failed = await suite.waitForJob(id, ['completed', 'failed'], 60_000);
    expect(failed).toMatchObject({ state: 'failed', attempts: 3, containerId: null });
    expect(failed.failureReason).toMatch(/^gave up after 3 tries: /);
    const { data } = await suite.viewer.GET('/api/containers', { params: { query: { jobId: id } } });
    expect(data!.data).toEqual([]);
  });

  it('cancels a job still waiting in the queue without ever starting a runner for it', async () => {
    await suite.restart({ MAX_CONCURRENT_CONTAINERS: '1' });
    const [blocker, waiting] = await submitMany(2);
    await suite.waitForJob(blocker, ['running']);
    const { data } = await suite.operator.POST('/api/jobs/{id}/cancel', { params: { path: { id: waiting } } });
    expect(data!.data).toMatchObject({ state: 'cancelled', containerId: null, runnerId: null });
    await suite.waitForJob(blocker, ['completed']);
    const { data: containers } = await suite.viewer.GET('/api/containers', { params: { query: { jobId: waiting } } });
    expect(containers!.data).toEqual([]);
    expect(docker(['ps', '-aq', '--filter', `label=runnerhub.job=${waiting}`])).toBe('');
  });
});
