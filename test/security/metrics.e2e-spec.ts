import { Schemas } from '../client/client';
import { API_KEYS, ApiSuite, startApiSuite } from '../support/api-suite';
import { testDatabaseKinds } from '../support/databases';
import { TEST_IMAGE } from '../support/test-env';
import { waitFor } from '../support/wait-for';

type Container = Schemas['ContainerDto'];

const METRICS_TOKEN = 'prometheus-scrape-token-4b1d9e2a';
const PRIVATE_REPOSITORY = 'secret-org/private-repo';
const STATS_INTERVAL_MS = 500;

/**
 * Issue 13, attack 6: `/metrics` was public and labelled its series with private repository names, job ids and
 * container names. Performed against the running service with a container on the real engine.
 */
describe.each(testDatabaseKinds())('metrics attacks on %s', (kind) => {
  let suite: ApiSuite;

  beforeAll(async () => {
    suite = await startApiSuite(kind, 'security-metrics', {
      METRICS_TOKEN,
      STATS_INTERVAL_MS: String(STATS_INTERVAL_MS),
    });
  });

  afterAll(async () => {
    await suite?.close();
  });

  it('attack 6: a scrape without METRICS_TOKEN is refused with 401 and a bearer challenge', async () => {
    const anonymous = await fetch(`${suite.baseUrl}/metrics`);
    expect(anonymous.status).toBe(401);
    expect(anonymous.headers.get('www-authenticate')).toBe('Bearer realm="RunnerHub metrics"');
    expect(await anonymous.text()).not.toContain('runnerhub_');

    // A near miss is refused, and an API key is not the metrics token, whatever its role.
    for (const token of ['prometheus-scrape-token-4b1d9e2b', API_KEYS.admin, API_KEYS.viewer]) {
      const refused = await fetch(`${suite.baseUrl}/metrics`, { headers: { authorization: `Bearer ${token}` } });
      expect([token, refused.status]).toEqual([token, 401]);
      expect(refused.headers.get('www-authenticate')).toMatch(/error="invalid_token"/);
    }

    const scraped = await fetch(`${suite.baseUrl}/metrics`, { headers: { authorization: `Bearer ${METRICS_TOKEN}` } });
    expect(scraped.status).toBe(200);
    expect(await scraped.text()).toContain('runnerhub_containers{state="running"}');
  });

  it('attack 6: a scrape does not name the private repository, job or container name of a running container', async () => {
    const container = await createPrivate(suite);
    const text = await scrapeUntilSampled(suite.baseUrl, container.id);
    expect(text).toContain(`runnerhub_container_memory_bytes{container="${container.id}"}`);
    expect(text).not.toContain(PRIVATE_REPOSITORY);
    expect(text).not.toContain('secret-org');
    expect(text).not.toContain(`job-${suite.run}`);
    expect(text).not.toContain(container.name);
  });
});

describe('metrics with METRICS_REPOSITORY_LABELS=true (sqlite)', () => {
  let suite: ApiSuite;

  beforeAll(async () => {
    suite = await startApiSuite('sqlite', 'security-metrics-labels', {
      METRICS_TOKEN,
      METRICS_REPOSITORY_LABELS: 'true',
      STATS_INTERVAL_MS: String(STATS_INTERVAL_MS),
    });
  });

  afterAll(async () => {
    await suite?.close();
  });

  it('attack 6: labels series with the repository only when the operator asks for it', async () => {
    const container = await createPrivate(suite);
    const text = await scrapeUntilSampled(suite.baseUrl, container.id);
    expect(text).toContain(
      `runnerhub_container_memory_bytes{container="${container.id}",repository="${PRIVATE_REPOSITORY}"}`,
    );
    expect(text).not.toContain(container.name);
  });
});

/** A running container of a private repository and job, made through the API. */
async function createPrivate(suite: ApiSuite): Promise<Container> {
  const { data, response } = await suite.operator.POST('/api/containers', {
    body: {
      repository: PRIVATE_REPOSITORY,
      jobId: `job-${suite.run}`,
      start: true,
      config: { image: TEST_IMAGE, command: ['sleep', '3600'], labels: suite.labels },
      limits: { memoryMB: 64 },
    },
  });
  expect(response.status).toBe(201);
  return data!.data;
}

/** The exposition once it holds a resource sample of the container. */
function scrapeUntilSampled(baseUrl: string, containerId: string): Promise<string> {
  return waitFor(
    async () => {
      const response = await fetch(`${baseUrl}/metrics`, { headers: { authorization: `Bearer ${METRICS_TOKEN}` } });
      const text = await response.text();
      return text.includes(`container="${containerId}"`) ? text : null;
    },
    { timeoutMs: 20 * STATS_INTERVAL_MS, intervalMs: 100, description: 'a sample of the container in /metrics' },
  );
}
