import { ApiSuite, expectErrorEnvelope, startApiSuite } from '../support/api-suite';
import { testDatabaseKinds } from '../support/databases';
import { SecondEngine } from '../support/docker-second-engine';
import { inspectContainer, removeLabelled } from '../support/engine-cli';
import { TEST_IMAGE } from '../support/test-env';
import { waitFor } from '../support/wait-for';

const MAIN_HOST = process.env.DOCKER_HOST ?? 'unix:///var/run/docker.sock';

type Placed = { id: string; engineId: string | null; engineName: string; placement: string | null; state: string };

/**
 * Two engines in one fleet: the main one (`main`, 2 slots) and one of the test's own (`lonely`, 2 slots, the engine
 * label `lonely`, no bridge so its containers get `network: none`). Each container is checked where it really is,
 * with the docker CLI pointed at the engine its record names.
 */
describe('placement of containers across engines', () => {
  let second: SecondEngine;

  beforeAll(async () => {
    second = await SecondEngine.create();
  }, 120_000);

  afterAll(async () => {
    await second?.cleanup();
  });

  function engines(mode: 'spread' | 'pack'): Record<string, string> {
    return {
      DOCKER_ENGINES: JSON.stringify([
        { name: 'main', host: MAIN_HOST, maxContainers: 2 },
        { name: 'lonely', host: second.dockerHost, maxContainers: 2, labels: ['lonely'], network: 'none' },
      ]),
      PLACEMENT: mode,
      MAX_CONCURRENT_CONTAINERS: '10',
      RATE_LIMIT_MUTATIONS_PER_MINUTE: '100000',
      ENGINE_PROBE_INTERVAL_MS: '200',
      ENGINE_UNREACHABLE_AFTER_MS: '1500',
    };
  }

  describe.each(testDatabaseKinds())('on %s', (kind) => {
    let suite: ApiSuite;

    afterEach(async () => {
      await suite?.close();
      removeLabelled(`app.runnerhub-test.run=${suite?.run}`, { host: second.dockerHost });
    });

    async function create(placement?: { engine?: string; labels?: string[] }) {
      return suite.operator.POST('/api/containers', {
        body: {
          config: { image: TEST_IMAGE, command: ['sleep', '600'], labels: suite.labels },
          limits: { memoryMB: 64 },
          ...(placement ? { placement } : {}),
        },
      });
    }

    async function placed(placement?: { engine?: string; labels?: string[] }): Promise<Placed> {
      const { data, error, response } = await create(placement);
      expect({ status: response.status, error }).toEqual({ status: 201, error: undefined });
      return data!.data;
    }

    function hostOf(engineName: string): string {
      return engineName === 'lonely' ? second.dockerHost : MAIN_HOST;
    }

    it('spreads containers over the engines, says why, and each really runs on the engine its record names', async () => {
      suite = await startApiSuite(kind, 'placement-spread', engines('spread'));
      const first = await placed();
      const next = await placed();
      expect(new Set([first.engineName, next.engineName])).toEqual(new Set(['main', 'lonely']));
      for (const container of [first, next]) {
        expect(container.placement).toMatch(
          new RegExp(`^engine ${container.engineName}: .*0 of 2 slots.*\\(spread\\)$`),
        );
        const onEngine = inspectContainer(container.engineId!, { host: hostOf(container.engineName) });
        expect(onEngine?.State.Running).toBe(true);
        expect(onEngine?.Config.Labels['runnerhub.record']).toBe(container.id);
        // The engine without a bridge gave its container the engine's own network.
        expect(onEngine?.HostConfig.NetworkMode).toBe(container.engineName === 'lonely' ? 'none' : 'bridge');
      }
    }, 120_000);

    it('packs containers onto one engine until it is full, then the next', async () => {
      suite = await startApiSuite(kind, 'placement-pack', engines('pack'));
      const made = [await placed(), await placed(), await placed()];
      const [a, b, c] = made.map((container) => container.engineName);
      expect(a).toBe(b);
      expect(c).not.toBe(a);
      expect(made[2].placement).toMatch(/\(pack\)$/);
    }, 120_000);

    it('honours engine labels and pins, and refuses with the reason when nothing fits, leaving nothing', async () => {
      suite = await startApiSuite(kind, 'placement-fit', engines('spread'));
      expect((await placed({ labels: ['lonely'] })).engineName).toBe('lonely');
      expect((await placed({ engine: 'main' })).engineName).toBe('main');

      const unknownLabel = await create({ labels: ['gpu'] });
      expect(unknownLabel.response.status).toBe(429);
      expect(expectErrorEnvelope(unknownLabel.error, 'CAPACITY_EXHAUSTED').message).toMatch(/labels gpu/);

      const unknownEngine = await create({ engine: 'nowhere' });
      expect(unknownEngine.response.status).toBe(404);

      expect((await placed({ labels: ['lonely'] })).engineName).toBe('lonely');
      const full = await create({ labels: ['lonely'] });
      expect(full.response.status).toBe(429);
      expect(expectErrorEnvelope(full.error, 'CAPACITY_EXHAUSTED').message).toMatch(/lonely.*2 of 2 slots/);

      const { data } = await suite.viewer.GET('/api/containers', { params: { query: { limit: 50 } } });
      expect(data!.data.filter((c) => c.state !== 'removed')).toHaveLength(3);
    }, 120_000);

    it('places nothing on a draining engine, which becomes drained once its containers are gone', async () => {
      suite = await startApiSuite(kind, 'placement-drain', engines('spread'));
      const onLonely = await placed({ engine: 'lonely' });
      const drain = await suite.admin.POST('/api/engines/{name}/drain', { params: { path: { name: 'lonely' } } });
      expect(drain.response.status).toBe(200);
      for (let i = 0; i < 2; i++) expect((await placed()).engineName).toBe('main');
      const pinned = await create({ engine: 'lonely' });
      expect(pinned.response.status).toBe(409);

      const removed = await suite.admin.DELETE('/api/containers/{id}', {
        params: { path: { id: onLonely.id }, query: { force: true } },
      });
      expect(removed.response.status).toBe(200);
      await waitFor(
        async () => {
          const { data } = await suite.viewer.GET('/api/engines/{name}', { params: { path: { name: 'lonely' } } });
          return data?.data.state === 'drained' ? true : null;
        },
        { timeoutMs: 10_000, description: 'the drained engine to say so' },
      );
    }, 120_000);
  });
});
