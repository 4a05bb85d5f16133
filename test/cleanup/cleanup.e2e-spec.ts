import { ContainerLifecycleManager } from '@app/lifecycle';
import { forEachLimited } from '../../bench/support';
import { Schemas } from '../client/client';
import { testDatabaseKinds } from '../support/databases';
import { docker, inspectContainer } from '../support/engine-cli';
import { OrchestrationSuite, startOrchestrationSuite } from '../support/orchestration-suite';
import { TEST_IMAGE, TEST_LABEL, TEST_RUNNER_FAILING_IMAGE } from '../support/test-env';
import { waitFor } from '../support/wait-for';

type Outcome = Schemas['CleanupOutcomeDto'];
const AGE_MS = 1_500;

describe.each(testDatabaseKinds())('cleanup policies on %s', (kind) => {
  let suite: OrchestrationSuite;
  const strangers: string[] = [];

  beforeAll(async () => {
    suite = await startOrchestrationSuite(kind, 'cleanup', {
      CLEANUP_COMPLETED_GRACE_MS: String(AGE_MS),
      CLEANUP_PRESERVE_FAILED: 'true',
      CLEANUP_FAILED_RETENTION_MS: String(3_600_000),
      CLEANUP_ORPHAN_AGE_MS: String(AGE_MS),
      CLEANUP_STOPPED_AGE_MS: String(AGE_MS),
      // Scans are asked for in these tests; the schedule has its own test below.
      CLEANUP_INTERVAL_MS: String(3_600_000),
      // The jobless containers made below (100 at once) each take a slot: the cap is not what this suite tests.
      MAX_CONCURRENT_CONTAINERS: '200',
    });
    // A container RunnerHub does not own, on the same engine, named like one of its own: it must survive every scan.
    strangers.push(
      docker([
        'run',
        '-d',
        '--name',
        `runner-${suite.repository.split('/')[1]}`,
        '--label',
        `${TEST_LABEL}=cleanup`,
        TEST_IMAGE,
        'sleep',
        '3600',
      ]),
    );
  });

  afterAll(async () => {
    for (const id of strangers) docker(['rm', '-f', id]);
    await suite?.close();
  });

  async function runCleanup(): Promise<Outcome[]> {
    const { data, response } = await suite.operator.POST('/api/cleanup/run');
    expect(response.status).toBe(200);
    expect(data!.data.ran).toBe(true);
    return data!.data.outcomes;
  }

  async function container(id: string) {
    const { data } = await suite.viewer.GET('/api/containers/{id}', { params: { path: { id } } });
    return data!.data;
  }

  async function submit(image?: string) {
    const { data } = await suite.operator.POST('/api/jobs', {
      body: { repository: suite.repository, labels: ['self-hosted'], ...(image ? { image } : {}) },
    });
    return data!.data;
  }

  /** A container made through the lifecycle with no job, never started: an orphan once it is old enough. */
  function createJobless(): Promise<string> {
    return suite.app.get(ContainerLifecycleManager).createContainer(null, null, {
      image: TEST_IMAGE,
      command: ['sleep', '3600'],
      repository: suite.repository,
      labels: { [TEST_LABEL]: 'cleanup' },
    });
  }

  const waitPast = (iso: string) =>
    waitFor(() => Date.now() - Date.parse(iso) > AGE_MS + 100, { timeoutMs: AGE_MS + 5_000, description: 'the age' });

  it("removes a completed job's container after the grace, through the lifecycle, and says why", async () => {
    const job = await suite.waitForJob((await submit()).id, ['completed', 'failed']);
    expect(job.state).toBe('completed');
    const { data: preview } = await suite.operator.GET('/api/cleanup/preview');
    expect(preview!.data.some((a) => a.containerId === job.containerId)).toBe(false);
    await waitPast(job.finishedAt!);
    const { data: due } = await suite.operator.GET('/api/cleanup/preview');
    expect(due!.data).toContainEqual(expect.objectContaining({ containerId: job.containerId, policy: 'completed' }));

    const outcomes = await runCleanup();
    expect(outcomes).toContainEqual(
      expect.objectContaining({ containerId: job.containerId, policy: 'completed', outcome: 'removed' }),
    );
    const removed = await container(job.containerId!);
    expect(removed.state).toBe('removed');
    expect(inspectContainer(removed.engineId!)).toBeNull();
    const { data: history } = await suite.viewer.GET('/api/containers/{id}/events', {
      params: { path: { id: job.containerId! } },
    });
    expect(history!.data).toContainEqual(
      expect.objectContaining({ toState: 'removing', reason: 'cleanup:completed', actor: 'cleanup' }),
    );
  });

  it("keeps a failed job's container while preservation is on", async () => {
    const job = await suite.waitForJob((await submit(TEST_RUNNER_FAILING_IMAGE)).id, ['completed', 'failed']);
    expect(job.state).toBe('failed');
    await waitPast(job.finishedAt!);
    const outcomes = await runCleanup();
    expect(outcomes.some((o) => o.containerId === job.containerId)).toBe(false);
    expect((await container(job.containerId!)).state).toBe('stopped');
  });

  it('removes a labelled container no record knows, and never one without the label', async () => {
    const stray = docker([
      'run',
      '-d',
      '--label',
      'runnerhub.managed=true',
      '--label',
      `runnerhub.repository=${suite.repository}`,
      TEST_IMAGE,
      'sleep',
      '3600',
    ]);
    // The reconciler adopts it on its start event; it is an orphan once its record is older than the orphan age.
    const due = await waitFor(
      async () => {
        const { data } = await suite.operator.GET('/api/cleanup/preview');
        return (
          data!.data.find((action) => action.policy === 'orphan' && action.reason.includes('found running')) ?? null
        );
      },
      { timeoutMs: AGE_MS + 10_000, intervalMs: 200, description: 'the stray to be previewed as an orphan' },
    );
    expect(due).toMatchObject({ kind: 'remove', force: true });
    const outcomes = await runCleanup();
    expect(outcomes).toContainEqual(expect.objectContaining({ policy: 'orphan', outcome: 'removed' }));
    expect(inspectContainer(stray)).toBeNull();
    for (const id of strangers) expect(inspectContainer(id)?.State.Running).toBe(true);
  });

  it('ends consistent when a scan races a manual removal of the same containers', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 6; i++) {
      ids.push(await createJobless());
    }
    await waitPast((await container(ids[ids.length - 1])).stateChangedAt);
    const [scan] = await Promise.all([
      runCleanup(),
      ...ids.map((id) => suite.operator.DELETE('/api/containers/{id}', { params: { path: { id } } })),
    ]);
    for (const id of ids) {
      const record = await container(id);
      expect(record.state).toBe('removed');
      expect(inspectContainer(record.engineId!)).toBeNull();
    }
    // Each container was removed once: by the scan or by the call, and the loser of each race saw it calmly.
    expect(
      scan.filter((o) => ids.includes(o.containerId ?? '')).every((o) => o.outcome !== 'skipped' || o.detail),
    ).toBe(true);
  });

  it('cleans up 100 expired containers and leaves none', async () => {
    const ids: string[] = [];
    await forEachLimited(100, 10, async () => {
      ids.push(await createJobless());
    });
    const newest = await Promise.all(ids.map(async (id) => Date.parse((await container(id)).stateChangedAt)));
    await waitPast(new Date(Math.max(...newest)).toISOString());
    const outcomes = await runCleanup();
    expect(outcomes.filter((o) => ids.includes(o.containerId ?? '') && o.outcome === 'removed')).toHaveLength(100);
    expect(
      docker(['ps', '-aq', '--filter', `label=runnerhub.repository=${suite.repository}`, '--filter', 'status=created']),
    ).toBe('');
  }, 120_000);

  it('counts scans, their duration and removals by policy on /metrics', async () => {
    const text = await (await fetch(`${suite.baseUrl}/metrics`)).text();
    const value = (series: string) => Number(new RegExp(`^${series} (\\S+)$`, 'm').exec(text)?.[1] ?? NaN);
    expect(value('runnerhub_cleanup_scans_total\\{trigger="manual"\\}')).toBeGreaterThanOrEqual(4);
    expect(value('runnerhub_cleanup_scan_duration_seconds_count\\{trigger="manual"\\}')).toBeGreaterThanOrEqual(4);
    expect(value('runnerhub_cleanup_removals_total\\{policy="completed"\\}')).toBeGreaterThanOrEqual(1);
    expect(value('runnerhub_cleanup_removals_total\\{policy="orphan"\\}')).toBeGreaterThanOrEqual(100);
  });

  it('scans on its own schedule', async () => {
    await suite.restart({ CLEANUP_INTERVAL_MS: '500' });
    const id = await createJobless();
    const removed = await waitFor(async () => ((await container(id)).state === 'removed' ? true : null), {
      timeoutMs: AGE_MS + 10_000,
      description: 'the scheduled scan to remove the orphan',
    });
    expect(removed).toBe(true);
    // Every scan of this suite has passed over the stranger on the same engine.
    for (const stranger of strangers) expect(inspectContainer(stranger)?.State.Running).toBe(true);
  });
});
