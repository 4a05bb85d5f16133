import { randomUUID } from 'node:crypto';
import { ContainerState, ErrorCode, JobState } from '@app/common';
import { testDatabaseKinds } from '../../../../test/support/databases';
import { PersistenceReplicas } from '../../../../test/support/persistence-replicas';
import { ContainerRecordRepository, NewContainerRecord } from './container-record.repository';
import { JobPlacement, JobRepository } from './job.repository';

/** No engine rows here: every job goes to the implicit `default` engine, which has no limit of its own. */
const SPREAD: JobPlacement = { mode: 'spread', need: () => ({ memoryMb: 1024, cpuMillis: 1000 }) };

describe.each(testDatabaseKinds())('job queue on %s', (kind) => {
  // PostgreSQL gets two replicas (two connection pools) over one database; SQLite has a single writer by design.
  const opened = new PersistenceReplicas(kind);
  beforeAll(() => opened.open());
  afterAll(() => opened.close());
  const replicas = opened.all;

  const jobs = () => replicas[0].get(JobRepository);
  const UNLIMITED = 1_000_000;

  /** Ends every job holding a slot, so a test of the limit starts from zero. */
  async function finishActiveJobs() {
    for (const job of await jobs().findInStates([JobState.Assigned, JobState.Running]))
      await jobs().update(job.id, job.version, { state: JobState.Completed, finishedAt: new Date() });
  }

  it('hands out queued jobs oldest first, each once, and then none', async () => {
    const repository = `octo/fifo-${kind}`;
    const queued = [];
    for (let i = 0; i < 3; i++)
      queued.push(await jobs().enqueue({ id: randomUUID(), repository, labels: ['self-hosted'] }));
    const claimed = [
      await jobs().claimNext(UNLIMITED, SPREAD),
      await jobs().claimNext(UNLIMITED, SPREAD),
      await jobs().claimNext(UNLIMITED, SPREAD),
    ];
    expect(claimed.map((j) => j?.id)).toEqual(queued.map((j) => j.id));
    expect(claimed.every((j) => j?.state === JobState.Assigned && j.assignedAt instanceof Date)).toBe(true);
    // A fleet never started is the one engine DOCKER_HOST names, with no limit of its own.
    expect(claimed[0]).toMatchObject({
      engineName: 'default',
      placement: 'engine default: memory unlimited, 0 containers, no slot limit (spread)',
      waitingReason: null,
    });
    expect(await jobs().claimNext(UNLIMITED, SPREAD)).toBeNull();
  });

  it('never gives one job to two claimers, even from several replicas at once', async () => {
    const ids = new Set<string>();
    for (let i = 0; i < 30; i++)
      ids.add((await jobs().enqueue({ id: randomUUID(), repository: 'octo/race', labels: [] })).id);
    const claimers = replicas.flatMap((replica) => Array.from({ length: 8 }, () => replica.get(JobRepository)));
    const taken: string[] = [];
    await Promise.all(
      claimers.map(async (claimer) => {
        for (
          let job = await claimer.claimNext(UNLIMITED, SPREAD);
          job;
          job = await claimer.claimNext(UNLIMITED, SPREAD)
        )
          taken.push(job.id);
      }),
    );
    expect(taken.length).toBe(ids.size);
    expect(new Set(taken)).toEqual(ids);
  });

  it('keeps GitHub ids as exact text, unique per workflow job', async () => {
    const githubJobId = '98765432109876';
    await jobs().enqueue({
      id: randomUUID(),
      repository: 'octo/gh',
      labels: ['linux'],
      githubJobId,
      githubRunId: '12345678901',
    });
    expect(await jobs().findByGithubJobId(githubJobId)).toMatchObject({
      githubRunId: '12345678901',
      labels: ['linux'],
    });
    await expect(
      jobs().enqueue({ id: randomUUID(), repository: 'octo/gh', labels: [], githubJobId }),
    ).rejects.toThrow();
  });

  it('refuses an update written against a stale version', async () => {
    const job = await jobs().enqueue({ id: randomUUID(), repository: 'octo/v', labels: [] });
    const running = await jobs().update(job.id, job.version, { state: JobState.Running, startedAt: new Date() });
    expect(running).toMatchObject({ state: JobState.Running, version: job.version + 1 });
    await expect(jobs().update(job.id, job.version, { state: JobState.Failed })).rejects.toMatchObject({
      code: ErrorCode.Conflict,
    });
    await expect(jobs().update(randomUUID(), 1, { state: JobState.Failed })).rejects.toMatchObject({
      code: ErrorCode.NotFound,
    });
    expect(await jobs().countInStates([JobState.Running])).toBeGreaterThanOrEqual(1);
    const { items, total } = await jobs().list({ repository: 'octo/v' }, { limit: 10, offset: 0 });
    expect(total).toBe(1);
    expect(items[0].state).toBe(JobState.Running);
  });

  it('never lets the claimed jobs exceed the limit, even with replicas claiming at once', async () => {
    await finishActiveJobs();
    for (let i = 0; i < 12; i++) await jobs().enqueue({ id: randomUUID(), repository: 'octo/limit', labels: [] });
    const claimers = replicas.flatMap((replica) => Array.from({ length: 6 }, () => replica.get(JobRepository)));
    const claimed = await Promise.all(claimers.map((claimer) => claimer.claimNext(4, SPREAD)));
    expect(claimed.filter(Boolean)).toHaveLength(4);
    expect(await jobs().countHoldingSlots()).toBe(4);
    expect(await jobs().claimNext(4, SPREAD)).toBeNull();
    await finishActiveJobs();
    expect(await jobs().claimNext(4, SPREAD)).not.toBeNull();
    await finishActiveJobs();
    // Drain what is left so later tests see an empty queue.
    while (await jobs().claimNext(UNLIMITED, SPREAD));
    await finishActiveJobs();
  });

  it('counts live containers of no job against the same limit, and their creation obeys it race-free', async () => {
    await finishActiveJobs();
    const records = (replica = replicas[0]) => replica.get(ContainerRecordRepository);
    const record = (jobId: string | null): NewContainerRecord => {
      const id = randomUUID();
      return {
        id,
        name: `runner-${id.slice(0, 12)}`,
        runnerId: null,
        jobId,
        repository: null,
        spec: { image: 'runnerhub-test/busybox:1', envNames: [], labels: {} },
        limits: {},
        security: {},
      };
    };
    const made = { reason: 'test', actor: 'test' };
    // Two API containers (one tagged with a job id of its own) hold two of three slots: one job fits, then none.
    const tagged = await records().insert(record('not-a-job-of-the-queue'), made, { maxSlots: 3 });
    await records().insert(record(null), made, { maxSlots: 3 });
    expect(await jobs().countHoldingSlots()).toBe(2);
    for (let i = 0; i < 2; i++) await jobs().enqueue({ id: randomUUID(), repository: 'octo/mixed', labels: [] });
    const claimed = await jobs().claimNext(3, SPREAD);
    expect(claimed).not.toBeNull();
    expect(await jobs().claimNext(3, SPREAD)).toBeNull();
    // The job's own container holds its job's slot, not one more.
    await records().insert(record(claimed!.id), made, { maxSlots: 3 });
    expect(await jobs().countHoldingSlots()).toBe(3);
    // One slot short of a limit of 4, creations from every replica at once: exactly one is written.
    const attempts = await Promise.allSettled(
      replicas.flatMap((replica) => [0, 1, 2].map(() => records(replica).insert(record(null), made, { maxSlots: 4 }))),
    );
    const outcomes = attempts.map((a): string =>
      a.status === 'rejected' ? (a.reason as { code: ErrorCode }).code : 'written',
    );
    expect(outcomes.filter((o) => o === 'written')).toHaveLength(1);
    expect(outcomes.filter((o) => o === String(ErrorCode.CapacityExhausted))).toHaveLength(outcomes.length - 1);
    expect(await jobs().countHoldingSlots()).toBe(4);
    expect(await jobs().claimNext(4, SPREAD)).toBeNull();
    // A stopped container lets go of its slot; the queue gets it.
    const stopping = await records().transition(tagged.id, tagged.version, { to: ContainerState.Error, ...made });
    expect(stopping.state).toBe(ContainerState.Error);
    expect(await jobs().claimNext(4, SPREAD)).not.toBeNull();
    await finishActiveJobs();
    while (await jobs().claimNext(UNLIMITED, SPREAD));
    await finishActiveJobs();
    for (const live of await records().findInStates([ContainerState.Creating])) {
      await records().transition(live.id, live.version, { to: ContainerState.Error, ...made });
    }
  });

  it('leaves a job waiting out its back-off until its time, then hands it out', async () => {
    const job = await jobs().enqueue({ id: randomUUID(), repository: 'octo/backoff', labels: [] });
    const availableAt = new Date(Date.now() + 60_000);
    await jobs().update(job.id, job.version, { availableAt, attempts: 1 });
    expect(await jobs().claimNext(UNLIMITED, SPREAD)).toBeNull();
    expect((await jobs().nextAvailableAt())?.getTime()).toBe(availableAt.getTime());
    const later = await jobs().claimNext(UNLIMITED, SPREAD, new Date(availableAt.getTime() + 1));
    expect(later).toMatchObject({ id: job.id, state: JobState.Assigned, attempts: 1 });
  });
});
