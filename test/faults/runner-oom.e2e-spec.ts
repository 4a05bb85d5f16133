import { expectDatabaseAndEngineAgree } from '../support/consistency';
import { API_KEYS } from '../support/api-suite';
import { testDatabaseKinds } from '../support/databases';
import { OrchestrationSuite, startOrchestrationSuite } from '../support/orchestration-suite';
import { TEST_RUNNER_OOM_IMAGE } from '../support/test-env';

describe.each(testDatabaseKinds())('a runner that runs out of memory, on %s', (kind) => {
  let suite: OrchestrationSuite;

  beforeAll(async () => {
    suite = await startOrchestrationSuite(kind, 'oom', { RUNNER_MEMORY_MB: '16' });
  });

  afterAll(async () => {
    await suite?.close();
  });

  it('fails its job with the reason oom-killed, and leaves the container recorded as such', async () => {
    const { data } = await suite.operator.POST('/api/jobs', {
      body: { repository: suite.repository, labels: ['self-hosted'], image: TEST_RUNNER_OOM_IMAGE },
    });
    const failed = await suite.waitForJob(data!.data.id, ['completed', 'failed'], 60_000);
    expect(failed).toMatchObject({ state: 'failed', failureReason: 'oom-killed' });
    const { data: container } = await suite.viewer.GET('/api/containers/{id}', {
      params: { path: { id: failed.containerId! } },
    });
    expect(container!.data).toMatchObject({ state: 'error', stateReason: 'oom-killed', exitCode: 137 });
    await expectDatabaseAndEngineAgree(suite.baseUrl, API_KEYS.viewer, suite.repository);
  });
});
