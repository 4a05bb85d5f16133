import { randomBytes } from 'node:crypto';
import { INestApplication } from '@nestjs/common';
import { API_KEYS } from '../support/api-suite';
import { startTestApp } from '../support/app';
import { expectDatabaseAndEngineAgree } from '../support/consistency';
import { createTestDatabase, TestDatabase, testDatabaseKinds } from '../support/databases';
import { SecondEngine } from '../support/docker-second-engine';
import { TEST_IMAGE, TEST_LABEL } from '../support/test-env';
import { waitFor } from '../support/wait-for';

const OUTAGE_MS = 10_000;

// An engine of the drill's own: it is stopped for ten seconds under the running service.
describe('the engine stopped for 10 s during work', () => {
  let engine: SecondEngine;

  beforeAll(async () => {
    engine = await SecondEngine.create();
  }, 60_000);

  afterAll(async () => {
    await engine?.cleanup();
  });

  describe.each(testDatabaseKinds())('on %s', (kind) => {
    let database: TestDatabase;
    let app: INestApplication;
    let baseUrl: string;
    const repository = `octo/outage-${kind}-${randomBytes(3).toString('hex')}`;

    beforeAll(async () => {
      database = await createTestDatabase(kind);
      ({ app, baseUrl } = await startTestApp(database, {
        DOCKER_HOST: engine.dockerHost,
        // The second engine has no bridge: its containers get a network namespace with loopback only.
        RUNNER_NETWORK: 'none',
        RUNNERHUB_API_KEYS: `${API_KEYS.operator}:operator`,
        RATE_LIMIT_MUTATIONS_PER_MINUTE: '100000',
      }));
    });

    afterAll(async () => {
      await app?.close();
      await database?.drop();
    });

    async function call(method: string, path: string, body?: unknown) {
      const started = Date.now();
      const response = await fetch(`${baseUrl}${path}`, {
        method,
        headers: { authorization: `Bearer ${API_KEYS.operator}`, 'content-type': 'application/json' },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      const json = (await response.json()) as { data?: { id: string; state: string }; error?: { code: string } };
      return { status: response.status, json, ms: Date.now() - started };
    }
    const create = () =>
      call('POST', '/api/containers', {
        jobId: 'outage-job',
        repository,
        config: { image: TEST_IMAGE, command: ['sleep', '3600'], labels: { [TEST_LABEL]: 'outage' } },
      });

    it('answers 503 ENGINE_UNAVAILABLE while it is away, never crashes, and catches up when it returns', async () => {
      const before = await create();
      expect(before.status).toBe(201);

      await engine.stop();
      const outageEnds = Date.now() + OUTAGE_MS;
      const seen: string[] = [];
      while (Date.now() < outageEnds) {
        const attempt = await create();
        expect({ status: attempt.status, code: attempt.json.error?.code }).toEqual({
          status: 503,
          code: 'ENGINE_UNAVAILABLE',
        });
        expect(attempt.ms).toBeLessThan(3_000);
        seen.push(`create ${attempt.status}`);
        expect((await call('GET', `/api/containers?repository=${encodeURIComponent(repository)}`)).status).toBe(200);
        expect((await fetch(`${baseUrl}/health/ready`)).status).toBe(503);
        expect((await fetch(`${baseUrl}/health`)).status).toBe(200);
        await new Promise((resolve) => setTimeout(resolve, 500));
      }
      expect(seen.length).toBeGreaterThan(3);

      await engine.start();
      await waitFor(async () => (await fetch(`${baseUrl}/health/ready`)).status === 200, {
        timeoutMs: 30_000,
        description: 'readiness to return',
      });
      // The engine stopped its containers as it went down: the reconciler catches that up on reconnecting.
      const caughtUp = await waitFor(
        async () => {
          const { json } = await call('GET', `/api/containers/${before.json.data!.id}`);
          return json.data?.state !== 'running' ? json.data : null;
        },
        { timeoutMs: 30_000, description: 'the record of the stopped container to catch up' },
      );
      expect(caughtUp.state).toBe('stopped');
      const after = await create();
      expect(after.status).toBe(201);
      await expectDatabaseAndEngineAgree(baseUrl, API_KEYS.operator, repository, (r) => r.id === after.json.data!.id, {
        host: engine.dockerHost,
      });
    }, 120_000);
  });
});
