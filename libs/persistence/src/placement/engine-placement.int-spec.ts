import { randomUUID } from 'node:crypto';
import { AppConfig, ContainerState, ErrorCode, JobState, PlacementMode } from '@app/common';
import { DataSource } from 'typeorm';
import { testDatabaseKinds } from '../../../../test/support/databases';
import { PersistenceReplicas } from '../../../../test/support/persistence-replicas';
import { ContainerRecordEntity, ContainerTransitionEntity, EngineEntity, JobEntity } from '../entities';
import { ContainerRecordRepository, NewContainerRecord } from '../repositories/container-record.repository';
import { EngineDefinition, EngineRepository } from '../repositories/engine.repository';
import { JobPlacement, JobRepository } from '../repositories/job.repository';
import { countEngineLoads } from './engine-load';
import { runnerPlacementNeed } from './runner-placement-need';

const GIB = 1024;
const UNLIMITED = 1_000_000;
const made = { reason: 'test', actor: 'test' };

describe.each(testDatabaseKinds())('placement on engines, counted in %s', (kind) => {
  // PostgreSQL gets two replicas (two connection pools) over one database; SQLite has a single writer by design.
  const opened = new PersistenceReplicas(kind);
  beforeAll(() => opened.open());
  afterAll(() => opened.close());
  const replicas = opened.all;

  beforeEach(async () => {
    const manager = replicas[0].get(DataSource).manager;
    for (const entity of [ContainerTransitionEntity, ContainerRecordEntity, JobEntity, EngineEntity]) {
      await manager.createQueryBuilder().delete().from(entity).execute();
    }
  });

  const jobs = (replica = replicas[0]) => replica.get(JobRepository);
  const records = (replica = replicas[0]) => replica.get(ContainerRecordRepository);
  const engines = () => replicas[0].get(EngineRepository);
  /** What a runner takes by the configuration (RUNNER_MEMORY_MB, DEFAULT_CPUS): 4 GiB and 2 CPUs by default. */
  const need = () => runnerPlacementNeed(replicas[0].get(AppConfig));
  const placement = (mode: PlacementMode): JobPlacement => ({ mode, need });

  async function addEngine(name: string, definition: Partial<EngineDefinition> = {}): Promise<EngineEntity> {
    return engines().insert(
      {
        name,
        endpoint: `tcp://${name}.test:2375`,
        tlsCertPath: null,
        labels: [],
        network: null,
        memoryMb: null,
        cpuMillis: null,
        maxContainers: null,
        ...definition,
      },
      'api',
    );
  }

  function enqueue(labels = ['self-hosted', 'linux']): Promise<JobEntity> {
    return jobs().enqueue({ id: randomUUID(), repository: 'octo/placement', labels });
  }

  /** Claims until nothing more is placed; the claimed jobs, in order. */
  async function claimAll(mode: PlacementMode, claimer = jobs()): Promise<JobEntity[]> {
    const claimed: JobEntity[] = [];
    for (let job = await claimer.claimNext(UNLIMITED, placement(mode)); job;) {
      claimed.push(job);
      job = await claimer.claimNext(UNLIMITED, placement(mode));
    }
    return claimed;
  }

  const enginesOf = (claimed: JobEntity[]) => claimed.map((job) => job.engineName);

  async function finishActiveJobs(): Promise<void> {
    for (const job of await jobs().findInStates([JobState.Assigned, JobState.Running]))
      await jobs().update(job.id, job.version, { state: JobState.Completed, finishedAt: new Date() });
  }

  function apiContainer(limits: Record<string, number> = {}, jobId: string | null = null): NewContainerRecord {
    const id = randomUUID();
    return {
      id,
      name: `api-${id.slice(0, 12)}`,
      runnerId: null,
      jobId,
      repository: null,
      spec: { image: 'runnerhub-test/busybox:1', envNames: [], labels: {} },
      limits,
      security: {},
    };
  }

  it('spreads jobs over the engines with the most room, and packs them onto the fullest that fits', async () => {
    for (const name of ['a', 'b', 'c']) await addEngine(name, { memoryMb: 16 * GIB, maxContainers: 10 });
    for (let i = 0; i < 6; i++) await enqueue();
    expect(enginesOf(await claimAll('spread'))).toEqual(['a', 'b', 'c', 'a', 'b', 'c']);

    await finishActiveJobs();
    for (let i = 0; i < 6; i++) await enqueue();
    // 16 GiB hold four runners of 4 GiB: pack fills a, then b.
    const packed = await claimAll('pack');
    expect(enginesOf(packed)).toEqual(['a', 'a', 'a', 'a', 'b', 'b']);
    expect(packed.map((job) => job.placement)).toEqual([
      'engine a: 16 GiB free of 16, 0 of 10 slots (pack)',
      'engine a: 12 GiB free of 16, 1 of 10 slots (pack)',
      'engine a: 8 GiB free of 16, 2 of 10 slots (pack)',
      'engine a: 4 GiB free of 16, 3 of 10 slots (pack)',
      'engine b: 16 GiB free of 16, 0 of 10 slots (pack)',
      'engine b: 12 GiB free of 16, 1 of 10 slots (pack)',
    ]);
  });

  it('places a job only on an engine with its engine labels; runner labels constrain nothing', async () => {
    await addEngine('plain');
    await addEngine('gpu-1', { labels: ['gpu'] });
    await addEngine('arm', { labels: ['arm64'] });
    await engines().moveState('arm', ['active'], 'unreachable', 'test');
    const gpu = await enqueue(['self-hosted', 'linux', 'gpu']);
    const arm = await enqueue(['self-hosted', 'arm64']);
    const both = await enqueue(['self-hosted', 'gpu', 'arm64']);
    const any = await enqueue(['self-hosted', 'linux', 'x64']);

    expect(enginesOf(await claimAll('spread'))).toEqual(['gpu-1', 'plain']);
    expect(await jobs().findById(gpu.id)).toMatchObject({ state: JobState.Assigned, engineName: 'gpu-1' });
    expect(await jobs().findById(any.id)).toMatchObject({ state: JobState.Assigned, engineName: 'plain' });
    expect(await jobs().findById(arm.id)).toMatchObject({
      state: JobState.Queued,
      engineName: null,
      waitingReason: 'engines with the labels arm64 are unreachable or draining: arm (unreachable)',
    });
    expect(await jobs().findById(both.id)).toMatchObject({
      state: JobState.Queued,
      waitingReason: 'no active engine has the labels gpu, arm64',
    });
  });

  it('respects slots and memory, says why a job waits, and places it when room appears', async () => {
    await addEngine('a', { maxContainers: 2 });
    await addEngine('b', { memoryMb: 8 * GIB });
    for (let i = 0; i < 5; i++) await enqueue();
    expect(enginesOf(await claimAll('spread')).sort()).toEqual(['a', 'a', 'b', 'b']);

    const [waiting] = await jobs().findInStates([JobState.Queued]);
    const reason = 'no engine has room: a 2 of 2 slots, b 0 GiB free of 8 (needs 4)';
    expect(waiting.waitingReason).toBe(reason);
    // A quiet queue writes nothing: with the same reason again, the row keeps the time it was last written.
    const longAgo = new Date('2000-01-01T00:00:00Z');
    await replicas[0]
      .get(DataSource)
      .createQueryBuilder()
      .update(JobEntity)
      .set({ updatedAt: longAgo, version: () => 'version' })
      .where('id = :id', { id: waiting.id })
      .execute();
    expect(await jobs().claimNext(UNLIMITED, placement('spread'))).toBeNull();
    const unchanged = await jobs().findById(waiting.id);
    expect(unchanged).toMatchObject({ waitingReason: reason, version: waiting.version, updatedAt: longAgo });

    // One job of engine b ends: its 4 GiB are free again.
    const onB = (await jobs().findInStates([JobState.Assigned])).find((job) => job.engineName === 'b')!;
    await jobs().update(onB.id, onB.version, { state: JobState.Completed, finishedAt: new Date() });
    const placed = await jobs().claimNext(UNLIMITED, placement('spread'));
    expect(placed).toMatchObject({
      id: waiting.id,
      engineName: 'b',
      placement: 'engine b: 4 GiB free of 8, 1 container, no slot limit (spread)',
      waitingReason: null,
    });
  });

  it('counts live containers by their limits, and a job once, whether or not its container is live yet', async () => {
    await addEngine('a', { memoryMb: 16 * GIB });
    const job = await enqueue();
    expect(await jobs().claimNext(UNLIMITED, placement('spread'))).toMatchObject({ engineName: 'a' });
    const manager = replicas[0].get(DataSource).manager;
    const reserved = { containers: 1, memoryMb: need().memoryMb, cpuMillis: need().cpuMillis };
    expect((await countEngineLoads(manager, need)).get('a')).toEqual(reserved);

    // The job's container is made: it takes the engine in the job's stead (its limits as the lifecycle applied them).
    const runnerLimits = { memoryMB: need().memoryMb, cpuQuota: need().cpuMillis * 100 };
    const runner = await records().insert(apiContainer(runnerLimits, job.id), made, { maxSlots: UNLIMITED });
    expect(runner).toMatchObject({ engineName: 'a', placement: expect.stringContaining('engine a:') });
    expect((await countEngineLoads(manager, need)).get('a')).toEqual(reserved);

    // A container of no job adds its own limits; one no longer live adds nothing.
    const api = await records().insert(apiContainer({ memoryMB: 512, cpuQuota: 50_000 }), made, {
      placement: { labels: [], memoryMb: 512, cpuMillis: 500, mode: 'spread' },
    });
    expect((await countEngineLoads(manager, need)).get('a')).toEqual({
      containers: 2,
      memoryMb: need().memoryMb + 512,
      cpuMillis: need().cpuMillis + 500,
    });
    await records().transition(api.id, api.version, { to: ContainerState.Error, ...made });
    expect((await countEngineLoads(manager, need)).get('a')).toEqual(reserved);
  });

  describe('containers of no job', () => {
    const request = { labels: [], memoryMb: 2 * GIB, cpuMillis: 1000, mode: 'spread' as const };

    it('are placed under the same count, with the engine and the reason written on the record', async () => {
      await addEngine('a', { memoryMb: 8 * GIB });
      await addEngine('b', { memoryMb: 8 * GIB });
      await enqueue();
      expect(await jobs().claimNext(UNLIMITED, placement('spread'))).toMatchObject({ engineName: 'a' });
      const record = await records().insert(apiContainer({ memoryMB: 2 * GIB }), made, { placement: request });
      expect(record).toMatchObject({
        engineName: 'b',
        placement: 'engine b: 8 GiB free of 8, 0 containers, no slot limit (spread)',
      });
      expect(await records().findById(record.id)).toMatchObject({ engineName: 'b' });
    });

    it('are refused with the reason and what to do when no engine fits, and nothing is written', async () => {
      await addEngine('a', { memoryMb: 4 * GIB, maxContainers: 5 });
      await enqueue();
      expect(await jobs().claimNext(UNLIMITED, placement('spread'))).not.toBeNull();
      const refused = apiContainer();
      await expect(records().insert(refused, made, { placement: request })).rejects.toMatchObject({
        code: ErrorCode.CapacityExhausted,
        message: expect.stringMatching(
          /^No engine can take the container: no engine has room: a 0 GiB free of 4 \(needs 2\); .*add one$/,
        ),
      });
      expect(await records().findById(refused.id)).toBeNull();
      // Room again; but an API container's labels are engine labels by name: one no engine carries fits nowhere.
      await finishActiveJobs();
      await expect(
        records().insert(apiContainer(), made, { placement: { ...request, labels: ['gpu'] } }),
      ).rejects.toMatchObject({ code: 'CAPACITY_EXHAUSTED', message: expect.stringMatching(/labels gpu/) });
      await expect(records().insert(apiContainer(), made, { placement: request })).resolves.toMatchObject({
        engineName: 'a',
      });
    });

    it('go to the engine they name, which must exist and be active', async () => {
      await addEngine('a');
      await addEngine('b');
      await addEngine('c');
      await engines().moveState('c', ['active'], 'draining', 'test');
      const pinned = await records().insert(apiContainer(), made, { placement: { ...request, engineName: 'b' } });
      expect(pinned).toMatchObject({ engineName: 'b', placement: expect.stringMatching(/\(pinned\)$/) });
      await expect(
        records().insert(apiContainer(), made, { placement: { ...request, engineName: 'x' } }),
      ).rejects.toMatchObject({ code: ErrorCode.NotFound, message: 'No Docker engine is named "x"' });
      await expect(
        records().insert(apiContainer(), made, { placement: { ...request, engineName: 'c' } }),
      ).rejects.toMatchObject({ code: ErrorCode.Conflict, details: { engine: 'c', state: 'draining' } });
    });
  });

  it('never overbooks an engine, with claimers on several connections at once', async () => {
    await addEngine('x', { maxContainers: 3 });
    await addEngine('y', { maxContainers: 2 });
    // More than two claim windows' worth, so claimers on other connections lock different queued jobs and would
    // each see room on the same engine if the count were not taken under the slot lock.
    const queued = 130;
    for (let i = 0; i < queued; i++) await enqueue();
    const claimers = replicas.flatMap((replica) => [0, 1, 2, 3].map(() => jobs(replica)));
    const observer = replicas[replicas.length - 1].get(DataSource).manager;
    const most = { x: 0, y: 0 };
    const sample = async () => {
      for (const name of ['x', 'y'] as const) {
        const held = await observer.countBy(JobEntity, { engineName: name, state: JobState.Assigned });
        most[name] = Math.max(most[name], held);
      }
    };

    for (let round = 0; round < 3; round++) {
      let claiming = true;
      // Samples what another connection sees while the claims are under way.
      const sampling = (async () => {
        while (claiming) await sample();
      })();
      const claimed = await Promise.all(claimers.map((claimer) => claimAll('spread', claimer)));
      claiming = false;
      await sampling;
      await sample();
      const placed = enginesOf(claimed.flat()).sort();
      expect(placed).toEqual(['x', 'x', 'x', 'y', 'y']);
      await finishActiveJobs();
    }
    expect(most).toEqual({ x: 3, y: 2 });
    expect(await jobs().countInStates([JobState.Queued])).toBe(queued - 15);
  });
});
