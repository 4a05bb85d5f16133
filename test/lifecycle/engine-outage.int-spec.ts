import { ContainerState as S, ErrorCode } from '@app/common';
import { ContainerConfig } from '@app/lifecycle';
import { createTestDatabase, TestDatabase, testDatabaseKinds } from '../support/databases';
import { SecondEngine } from '../support/docker-second-engine';
import { LifecycleHarness } from '../support/lifecycle-harness';
import { TEST_IMAGE, TEST_LABEL } from '../support/test-env';
import { waitFor } from '../support/wait-for';

const SLEEPER: ContainerConfig = { image: TEST_IMAGE, command: ['sleep', '3600'], labels: { [TEST_LABEL]: 'outage' } };

// An engine of the test's own, since this one gets stopped and started again under the service.
describe('an engine that goes away and comes back', () => {
  let engine: SecondEngine;

  beforeAll(async () => {
    engine = await SecondEngine.create();
  });

  afterAll(async () => {
    await engine?.cleanup();
  });

  describe.each(testDatabaseKinds())('on %s', (kind) => {
    let database: TestDatabase;
    let harness: LifecycleHarness;

    beforeAll(async () => {
      database = await createTestDatabase(kind);
      // The second engine has no bridge: its containers get a network namespace with loopback only.
      harness = await LifecycleHarness.start(database, { DOCKER_HOST: engine.dockerHost, RUNNER_NETWORK: 'none' });
    });

    afterAll(async () => {
      await harness?.close();
      await database?.drop();
    });

    it('fails fast with ENGINE_UNAVAILABLE changing no record, then catches up when the engine is back', async () => {
      const { manager } = harness;
      const running = await manager.createContainer(null, 'job-r', SLEEPER);
      await manager.start(running);
      const created = await manager.createContainer(null, 'job-c', SLEEPER);

      await engine.stop();
      // Whatever the last events before the shutdown caused has been written; from here on nothing may change.
      await harness.settled();
      const before = { running: await manager.get(running), created: await manager.get(created) };
      const total = (await manager.list({}, { limit: 1, offset: 0 })).total;

      for (const attempt of [
        () => manager.remove(created),
        () => manager.start(created),
        () => manager.createContainer(null, 'job-new', SLEEPER),
        () => manager.logs(running, { tail: 10 }),
      ]) {
        const started = Date.now();
        await expect(attempt()).rejects.toMatchObject({ code: ErrorCode.EngineUnavailable });
        expect(Date.now() - started).toBeLessThan(2_000);
      }
      expect(await manager.get(running)).toEqual(before.running);
      expect(await manager.get(created)).toEqual(before.created);
      expect((await manager.list({}, { limit: 1, offset: 0 })).total).toBe(total);

      await engine.start();

      // The engine's shutdown ended the container's process; seen from its last events or from the resync on reconnect.
      await waitFor(async () => (await manager.get(running)).state === S.Stopped, {
        description: 'the running record to be closed as stopped',
        timeoutMs: 20_000,
        intervalMs: 100,
      });
      expect((await manager.history(running)).at(-1)).toMatchObject({ actor: 'reconciler', fromState: S.Running });
      expect((await manager.get(created)).state).toBe(S.Created);

      // The reconciler follows the new engine process: an outside kill and an outside container are both seen.
      await manager.start(created);
      const { engineId } = await manager.get(created);
      await engine.docker(['kill', engineId!]);
      await waitFor(async () => (await manager.get(created)).state === S.Stopped, {
        description: 'the outside kill to be seen',
        timeoutMs: 5_000,
      });
      const orphan = (
        await engine.docker([
          'run',
          '-d',
          '--network',
          'none',
          '--label',
          'runnerhub.managed=true',
          '--label',
          `${TEST_LABEL}=outage`,
          '--label',
          'runnerhub.job=job-orphan',
          TEST_IMAGE,
          'sleep',
          '3600',
        ])
      ).trim();
      const adopted = await waitFor(
        async () => {
          const { items } = await manager.list({ jobId: 'job-orphan' }, { limit: 1, offset: 0 });
          return items[0];
        },
        { description: 'the outside container to be adopted', timeoutMs: 5_000 },
      );
      expect(adopted).toMatchObject({ engineId: orphan, state: S.Running });

      for (const id of [running, created, adopted.id]) {
        expect((await manager.remove(id, { force: true })).state).toBe(S.Removed);
      }
      expect((await engine.docker(['ps', '-aq', '--filter', `label=${TEST_LABEL}=outage`])).trim()).toBe('');
    });
  });
});
