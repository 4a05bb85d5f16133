import { randomUUID } from 'node:crypto';
import { ContainerState as S } from '@app/common';
import { ContainerConfig } from '@app/lifecycle';
import { ContainerRecordRepository } from '@app/persistence';
import { createTestDatabase, TestDatabase, testDatabaseKinds } from '../support/databases';
import { docker, inspectContainer, removeLabelled } from '../support/engine-cli';
import { LifecycleHarness } from '../support/lifecycle-harness';
import { TEST_IMAGE, TEST_LABEL } from '../support/test-env';
import { waitFor } from '../support/wait-for';

const SUITE = 'reconciliation';
const SLEEPER: ContainerConfig = { image: TEST_IMAGE, command: ['sleep', '3600'], labels: { [TEST_LABEL]: SUITE } };

describe.each(testDatabaseKinds())('reconciliation after a restart on %s', (kind) => {
  let database: TestDatabase;
  let first: LifecycleHarness | undefined;
  let second: LifecycleHarness | undefined;

  beforeAll(async () => {
    database = await createTestDatabase(kind);
  });

  afterAll(async () => {
    await first?.close();
    await second?.close();
    removeLabelled(`${TEST_LABEL}=${SUITE}`);
    await database?.drop();
  });

  it('brings every record in line with the engine when a new application starts over the same database', async () => {
    first = await LifecycleHarness.start(database);
    const manager = first.manager;
    const records = first.moduleRef.get(ContainerRecordRepository);

    const killedWhileDown = await manager.createContainer(null, 'job-k', SLEEPER);
    await manager.start(killedWhileDown);
    const vanishedWhileDown = await manager.createContainer(null, 'job-v', SLEEPER);
    await manager.start(vanishedWhileDown);
    const untouched = await manager.createContainer(null, 'job-u', SLEEPER);
    await manager.start(untouched);
    const neverStarted = await manager.createContainer(null, 'job-c', SLEEPER);

    // A crash in the middle of a stop: the record says STOPPING, the container still runs.
    const midStop = await manager.createContainer(null, 'job-s', SLEEPER);
    const running = await manager.start(midStop);
    await records.transition(midStop, running.version, { to: S.Stopping, reason: 'stop requested', actor: 'test' });
    // A crash in the middle of a create: the record says CREATING, and the engine never made the container.
    const midCreate = randomUUID();
    await records.insert(
      {
        id: midCreate,
        name: `runner-${midCreate.slice(0, 8)}`,
        runnerId: null,
        jobId: 'job-m',
        repository: null,
        spec: { image: TEST_IMAGE, envNames: [], labels: {} },
        limits: {},
        security: {},
      },
      { reason: 'creation requested', actor: 'test' },
    );
    const killedEngineId = (await records.findById(killedWhileDown))!.engineId!;
    const vanishedEngineId = (await records.findById(vanishedWhileDown))!.engineId!;
    await first.close();
    first = undefined;

    // While RunnerHub is down, the engine changes under it.
    docker(['kill', killedEngineId]);
    docker(['rm', '-f', vanishedEngineId]);
    const orphanEngineId = docker([
      'run',
      '-d',
      '--label',
      'runnerhub.managed=true',
      '--label',
      `${TEST_LABEL}=${SUITE}`,
      '--label',
      'runnerhub.job=job-lost',
      TEST_IMAGE,
      'sleep',
      '3600',
    ]);

    second = await LifecycleHarness.start(database);
    const after = second.manager;
    const state = async (id: string) => (await after.get(id)).state;
    await waitFor(
      async () =>
        (await state(killedWhileDown)) === S.Stopped &&
        (await state(vanishedWhileDown)) === S.Removed &&
        (await state(midStop)) === S.Stopped &&
        (await state(midCreate)) === S.Removed &&
        (await after.list({ jobId: 'job-lost' }, { limit: 5, offset: 0 })).total === 1,
      { description: 'the resync to settle', timeoutMs: 20_000, intervalMs: 100 },
    );

    expect(await after.get(killedWhileDown)).toMatchObject({ exitCode: 137, stateReason: 'exited with code 137' });
    expect((await after.history(vanishedWhileDown)).slice(-3).map((t) => [t.toState, t.reason])).toEqual([
      [S.Error, 'the container vanished from the engine'],
      [S.Removing, 'the container vanished from the engine'],
      [S.Removed, 'the container vanished from the engine'],
    ]);
    expect(inspectContainer((await after.get(midStop)).engineId!)?.State.Running).toBe(false);
    expect((await after.history(midCreate)).map((t) => t.toState)).toEqual([
      S.Creating,
      S.Error,
      S.Removing,
      S.Removed,
    ]);
    expect(await state(untouched)).toBe(S.Running);
    expect(await state(neverStarted)).toBe(S.Created);

    const [orphan] = (await after.list({ jobId: 'job-lost' }, { limit: 5, offset: 0 })).items;
    expect(orphan).toMatchObject({ engineId: orphanEngineId, state: S.Running });
    expect((await after.history(orphan.id))[0]).toMatchObject({ actor: 'reconciler', toState: S.Running });
    expect(second.eventsFor(orphan.id)).toEqual(['container:started']);

    // Every transition the resync wrote was announced: 1 (killed) + 3 (vanished) + 1 (mid-stop) + 3 (mid-create)
    // + 1 (adopted orphan), and nothing else was touched.
    const ids = [killedWhileDown, vanishedWhileDown, untouched, neverStarted, midStop, midCreate, orphan.id];
    const written = (await Promise.all(ids.map((id) => after.history(id))))
      .flat()
      .filter((t) => t.actor === 'reconciler');
    const announced = second.events.filter((e) => e.payload.actor === 'reconciler');
    expect(written).toHaveLength(9);
    expect(announced.map((e) => `${e.payload.containerId}:${e.payload.state}`).sort()).toEqual(
      written.map((t) => `${t.containerId}:${t.toState}`).sort(),
    );
  });
});
