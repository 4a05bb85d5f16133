import { randomInt } from 'node:crypto';
import { expectErrorEnvelope } from '../support/api-suite';
import { testDatabaseKinds } from '../support/databases';
import { docker } from '../support/engine-cli';
import { signedDelivery, workflowJobPayload } from '../support/github-webhooks';
import { OrchestrationSuite, startOrchestrationSuite, WEBHOOK_SECRET } from '../support/orchestration-suite';
import { TEST_IMAGE } from '../support/test-env';
import { waitFor } from '../support/wait-for';

const LABELS = ['self-hosted', 'linux'];
/** Covered by the suite's GitHub credential like any other, but not one this RunnerHub is meant to serve. */
const FOREIGN_REPOSITORY = 'evil-org/app';

type Receipt = { deliveryId: string; duplicate: boolean; outcome: string; jobId: string | null; detail: string };

/**
 * Issue 13, attack 9: POST /api/jobs handed a runner credential to any image and any repository the GitHub credential
 * covers, and so did a webhook. Performed against the running service, a fake GitHub and the real engine.
 */
describe.each(testDatabaseKinds())('job allow-list attacks on %s', (kind) => {
  let suite: OrchestrationSuite;

  beforeAll(async () => {
    // RUNNER_IMAGES_ALLOWED: the runner stand-ins (orchestration-suite); REPOSITORIES_ALLOWED: this suite's own.
    suite = await startOrchestrationSuite(kind, 'policy', { REPOSITORIES_ALLOWED: 'octo-org/policy-*' });
  });

  afterAll(async () => {
    await suite?.close();
  });

  /** What GitHub was asked for in the name of a repository: runner credentials and runners. */
  const credentialRequestsFor = (repository: string) =>
    suite.github.requestsTo(new RegExp(`^/repos/${repository}/actions/runners/`)).map((r) => `${r.method} ${r.path}`);

  const jobsOf = async (repository: string) =>
    (await suite.viewer.GET('/api/jobs', { params: { query: { repository } } })).data!.data;

  const containersOf = (repository: string) =>
    docker(['ps', '-aq', '--filter', `label=runnerhub.repository=${repository}`])
      .split('\n')
      .filter(Boolean);

  it('attack 9: POST /api/jobs naming an image outside RUNNER_IMAGES_ALLOWED is refused before anything is stored', async () => {
    // A real image on the engine, which would run with the runner credential in its environment.
    for (const image of [TEST_IMAGE, `docker.io/${TEST_IMAGE}`, 'evil.example/runnerhub-test/runner:1']) {
      const { response, error } = await suite.operator.POST('/api/jobs', {
        body: { repository: suite.repository, labels: LABELS, image },
      });
      expect([image, response.status]).toEqual([image, 403]);
      const refusal = expectErrorEnvelope(error, 'NOT_PERMITTED');
      expect(refusal.details).toMatchObject({ field: 'image', setting: 'RUNNER_IMAGES_ALLOWED' });
      expect(refusal.message).toMatch(/RUNNER_IMAGES_ALLOWED/);
    }
    expect(await jobsOf(suite.repository)).toEqual([]);
    expect(containersOf(suite.repository)).toEqual([]);
    expect(credentialRequestsFor(suite.repository)).toEqual([]);
  });

  it('attack 9: POST /api/jobs for a repository outside REPOSITORIES_ALLOWED is refused before anything is stored', async () => {
    const { response, error } = await suite.operator.POST('/api/jobs', {
      body: { repository: FOREIGN_REPOSITORY, labels: LABELS },
    });
    expect(response.status).toBe(403);
    const refusal = expectErrorEnvelope(error, 'NOT_PERMITTED');
    expect(refusal.details).toMatchObject({ field: 'repository', setting: 'REPOSITORIES_ALLOWED' });
    expect(refusal.message).toMatch(/evil-org\/app is not served.*REPOSITORIES_ALLOWED allows octo-org\/policy-\*/);
    expect(await jobsOf(FOREIGN_REPOSITORY)).toEqual([]);
    expect(containersOf(FOREIGN_REPOSITORY)).toEqual([]);
    expect(credentialRequestsFor(FOREIGN_REPOSITORY)).toEqual([]);
  });

  it('attack 9: a workflow_job webhook of a repository not allowed gets no runner, while an allowed one does', async () => {
    const deliver = async (repository: string): Promise<Receipt> => {
      const githubJobId = randomInt(1e9, 2 ** 47);
      const payload = workflowJobPayload({
        action: 'queued',
        jobId: githubJobId,
        runId: githubJobId + 1,
        repository,
        labels: LABELS,
      });
      const delivery = signedDelivery(WEBHOOK_SECRET, payload);
      const response = await fetch(`${suite.baseUrl}/api/webhooks/github`, {
        method: 'POST',
        headers: delivery.headers,
        body: delivery.body,
      });
      expect(response.status).toBe(202);
      return ((await response.json()) as { data: Receipt }).data;
    };

    const foreign = await deliver(FOREIGN_REPOSITORY);
    expect(foreign).toMatchObject({ outcome: 'ignored', jobId: null });
    expect(foreign.detail).toMatch(/evil-org\/app is not served.*REPOSITORIES_ALLOWED/);

    // The control: the same delivery for an allowed repository is served, a runner registered on GitHub for it.
    const served = await deliver(suite.repository);
    expect(served).toMatchObject({ outcome: 'queued', jobId: expect.any(String) });
    await waitFor(() => suite.github.runners().some((runner) => runner.scope === suite.repository), {
      timeoutMs: 20_000,
      description: 'a runner registered for the allowed repository',
    });

    // Jobs are dispatched in the order they were queued: had the foreign one been queued, it would have had its
    // runner first. It has none, nor a job, a credential or a container.
    expect(await jobsOf(FOREIGN_REPOSITORY)).toEqual([]);
    expect(suite.github.runners().filter((runner) => runner.scope === FOREIGN_REPOSITORY)).toEqual([]);
    expect(credentialRequestsFor(FOREIGN_REPOSITORY)).toEqual([]);
    expect(containersOf(FOREIGN_REPOSITORY)).toEqual([]);
  });
});
