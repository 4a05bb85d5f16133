import { AppConfigModule, ContainerState, DomainError, ErrorCode, loadAppConfig } from '@app/common';
import { Test, TestingModule } from '@nestjs/testing';
import { getDataSourceToken } from '@nestjs/typeorm';
import { randomUUID } from 'node:crypto';
import { DataSource } from 'typeorm';
import { createTestDatabase, TestDatabase, testDatabaseKinds } from '../../../test/support/databases';
import {
  ApiKeyRepository,
  AuditLogRepository,
  ContainerRecordEntity,
  ContainerRecordRepository,
  NewAuditLogEntry,
  NewContainerRecord,
  PersistenceModule,
} from '.';

function newRecord(overrides: Partial<NewContainerRecord> = {}): NewContainerRecord {
  const id = randomUUID();
  return {
    id,
    name: `runner-${id.slice(0, 8)}`,
    runnerId: 'runner-1',
    jobId: 'job-1',
    repository: 'octo/hello',
    spec: { image: 'runnerhub-test/busybox:1', envNames: ['RUNNER_TOKEN'], labels: { 'runnerhub.managed': 'true' } },
    limits: { cpuShares: 1024, memoryMB: 64 },
    security: { capDrop: ['ALL'] },
    ...overrides,
  };
}

describe.each(testDatabaseKinds())('persistence on %s', (kind) => {
  let database: TestDatabase;
  let moduleRef: TestingModule;
  let repository: ContainerRecordRepository;
  let dataSource: DataSource;

  beforeAll(async () => {
    database = await createTestDatabase(kind);
    moduleRef = await Test.createTestingModule({
      imports: [AppConfigModule.forRoot(loadAppConfig(database.env)), PersistenceModule],
    }).compile();
    await moduleRef.init();
    repository = moduleRef.get(ContainerRecordRepository);
    dataSource = moduleRef.get<DataSource>(getDataSourceToken());
  });

  afterAll(async () => {
    await moduleRef?.close();
    await database?.drop();
  });

  it('creates the schema through migrations, and the schema matches the entities exactly', async () => {
    const applied: Array<{ name: string }> = await dataSource.query(`SELECT name FROM migrations`);
    expect(applied.map((row) => row.name)).toEqual([
      'CreateContainers1764374400000',
      'CreateApiKeysAndAuditLog1764547200000',
      'CreateJobs1764633600000',
      'CreateRunnersAndDeliveries1764720000000',
      'CreateContainerStats1764806400000',
      'RealRunners1764892800000',
      'DeliveryRetentionIndex1764979200000',
      'FleetEngines1765065600000',
      'ContainerListIndexes1765152000000',
      'RunnerPools1765238400000',
    ]);
    const pending = await dataSource.driver.createSchemaBuilder().log();
    expect(pending.upQueries.map((q) => q.query)).toEqual([]);
  });

  it('stores a record with its first history row and reads it back with the same values and instants', async () => {
    const before = Date.now();
    const saved = await repository.insert(newRecord(), { reason: 'requested', actor: 'test' });
    const found = await repository.findById(saved.id);
    expect(found).toMatchObject({
      state: ContainerState.Creating,
      repository: 'octo/hello',
      spec: { envNames: ['RUNNER_TOKEN'] },
      limits: { cpuShares: 1024, memoryMB: 64 },
      version: 1,
    });
    // Timestamps survive the round trip as the same instant, whatever the time zone of the process.
    expect(found!.createdAt.getTime()).toBeGreaterThanOrEqual(before - 1000);
    expect(found!.createdAt.getTime()).toBeLessThanOrEqual(Date.now() + 1000);
    expect(Math.abs(found!.stateChangedAt.getTime() - before)).toBeLessThan(5000);
    const history = await repository.transitions(saved.id);
    expect(history).toHaveLength(1);
    expect(history[0]).toMatchObject({ fromState: null, toState: ContainerState.Creating, actor: 'test' });
  });

  it('appends one history row per transition and bumps the version', async () => {
    const saved = await repository.insert(newRecord(), { reason: 'requested', actor: 'test' });
    const created = await repository.transition(saved.id, saved.version, {
      to: ContainerState.Created,
      reason: 'engine created it',
      actor: 'test',
      engineId: 'e'.repeat(64),
    });
    expect(created).toMatchObject({ state: ContainerState.Created, engineId: 'e'.repeat(64), version: 2 });
    const stopped = await repository.transition(saved.id, created.version, {
      to: ContainerState.Error,
      reason: 'exited',
      actor: 'reconciler',
      exitCode: 137,
    });
    expect(stopped).toMatchObject({ exitCode: 137, stateReason: 'exited' });
    const history = await repository.transitions(saved.id);
    expect(history.map((t) => [t.fromState, t.toState, t.exitCode])).toEqual([
      [null, ContainerState.Creating, null],
      [ContainerState.Creating, ContainerState.Created, null],
      [ContainerState.Created, ContainerState.Error, 137],
    ]);
    expect(await repository.findByEngineId('e'.repeat(64))).toMatchObject({ id: saved.id });
  });

  it('refuses a transition written against a stale version, and of concurrent writers exactly one wins', async () => {
    const saved = await repository.insert(newRecord(), { reason: 'requested', actor: 'test' });
    const attempts = await Promise.allSettled(
      [ContainerState.Created, ContainerState.Error, ContainerState.Created].map((to) =>
        repository.transition(saved.id, saved.version, { to, reason: 'race', actor: 'test' }),
      ),
    );
    expect(attempts.filter((a) => a.status === 'fulfilled')).toHaveLength(1);
    for (const failed of attempts.filter((a): a is PromiseRejectedResult => a.status === 'rejected')) {
      expect(DomainError.is(failed.reason, ErrorCode.Conflict)).toBe(true);
    }
    expect(await repository.transitions(saved.id)).toHaveLength(2);
  });

  it('moves many records in one batch, each guarded by its own version, and refuses only the stale one', async () => {
    const [a, b, stale] = await Promise.all(
      [1, 2, 3].map(() => repository.insert(newRecord(), { reason: 'requested', actor: 'test' })),
    );
    await repository.transition(stale.id, stale.version, { to: ContainerState.Error, reason: 'first', actor: 'test' });
    const { moved, refused } = await repository.transitionMany(
      [a, b, stale].map((record, i) => ({
        record,
        change: { to: ContainerState.Created, reason: `batch ${i}`, actor: 'cleanup' },
      })),
    );
    expect(moved.map((record) => [record.id, record.state, record.version, record.stateReason]).sort()).toEqual(
      [
        [a.id, ContainerState.Created, a.version + 1, 'batch 0'],
        [b.id, ContainerState.Created, b.version + 1, 'batch 1'],
      ].sort(),
    );
    expect([...refused.keys()]).toEqual([stale.id]);
    expect(refused.get(stale.id)?.code).toBe(ErrorCode.Conflict);
    expect((await repository.transitions(b.id)).map((t) => [t.fromState, t.toState, t.reason, t.actor])).toEqual([
      [null, ContainerState.Creating, 'requested', 'test'],
      [ContainerState.Creating, ContainerState.Created, 'batch 1', 'cleanup'],
    ]);
    expect(await repository.findById(stale.id)).toMatchObject({ state: ContainerState.Error, stateReason: 'first' });
    expect(await repository.transitions(stale.id)).toHaveLength(2);
  });

  it('points a record at another job without making a transition under way a lost race', async () => {
    const saved = await repository.insert(newRecord(), { reason: 'requested', actor: 'test' });
    await repository.reassignJob(saved.id, 'job-2');
    expect(await repository.findById(saved.id)).toMatchObject({ jobId: 'job-2', version: saved.version });
    const created = await repository.transition(saved.id, saved.version, {
      to: ContainerState.Created,
      reason: 'made',
      actor: 'test',
    });
    expect(created).toMatchObject({ state: ContainerState.Created, jobId: 'job-2' });
  });

  it('reports an unknown record as NotFound', async () => {
    await expect(
      repository.transition(randomUUID(), 1, { to: ContainerState.Created, reason: 'x', actor: 'test' }),
    ).rejects.toMatchObject({ code: ErrorCode.NotFound });
  });

  it('lists with filters and paging, newest first, with the total', async () => {
    const repo = `octo/list-${kind}`;
    for (let i = 0; i < 5; i++) {
      await repository.insert(newRecord({ repository: repo, jobId: `job-${i % 2}` }), { reason: 'r', actor: 't' });
    }
    const page = await repository.list({ repository: repo }, { limit: 2, offset: 0 });
    expect(page.total).toBe(5);
    expect(page.items).toHaveLength(2);
    const rest = await repository.list({ repository: repo }, { limit: 10, offset: 2 });
    expect(rest.items).toHaveLength(3);
    const ids = new Set([...page.items, ...rest.items].map((r) => r.id));
    expect(ids.size).toBe(5);
    const byJob = await repository.list({ repository: repo, jobId: 'job-0' }, { limit: 10, offset: 0 });
    expect(byJob.total).toBe(3);
    const byState = await repository.list(
      { repository: repo, state: [ContainerState.Running, ContainerState.Creating] },
      { limit: 10, offset: 0 },
    );
    expect(byState.total).toBe(5);
  });

  it('reads records by hand-written SQL exactly as TypeORM reads them: every column, date, JSON, null and order', async () => {
    const repo = `octo/reader-${kind}`;
    const inserted = [];
    for (let i = 0; i < 4; i++) {
      const saved = await repository.insert(
        newRecord({
          repository: repo,
          jobId: i === 0 ? null : `job-${i}`,
          spec: { image: 'i', envNames: [], labels: { n: `${i}` }, command: ['sh', '-c', 'x'] },
        }),
        { reason: 'r', actor: 't' },
      );
      inserted.push(saved);
    }
    const moved = await repository.transition(inserted[1].id, inserted[1].version, {
      to: ContainerState.Error,
      reason: 'engine said no',
      actor: 't',
      exitCode: 137,
    });
    const typeorm = dataSource.getRepository(ContainerRecordEntity);
    const expected = await typeorm.find({ where: { repository: repo }, order: { createdAt: 'DESC', id: 'ASC' } });

    const page = await repository.list({ repository: repo }, { limit: 10, offset: 0 });
    expect(page.items).toEqual(expected);
    expect(page.items[0]).toBeInstanceOf(ContainerRecordEntity);
    expect(await repository.findById(moved.id)).toEqual(await typeorm.findOneBy({ id: moved.id }));
    expect((await repository.findById(moved.id))!.exitCode).toBe(137);
    expect(await repository.findById(randomUUID())).toBeNull();
    // An empty list of states matches nothing, as In([]) does; the total counts the filter, not the page.
    expect(await repository.list({ repository: repo, state: [] }, { limit: 10, offset: 0 })).toEqual({
      items: [],
      total: 0,
    });
    const second = await repository.list({ repository: repo }, { limit: 1, offset: 1 });
    expect(second).toEqual({ items: [expected[1]], total: 4 });
  });

  it('stores generated API keys by name and hash, and refuses a second row with the same hash', async () => {
    const keys = moduleRef.get(ApiKeyRepository);
    await keys.insert({ name: 'admin-0123abcd', role: 'admin', keyHash: 'a'.repeat(64) });
    const stored = await keys.all();
    expect(stored).toEqual([
      { name: 'admin-0123abcd', role: 'admin', keyHash: 'a'.repeat(64), createdAt: expect.any(Date) },
    ]);
    await expect(keys.insert({ name: 'viewer-0123abcd', role: 'viewer', keyHash: 'a'.repeat(64) })).rejects.toThrow();
  });

  it('appends audit entries and lists them newest first, filtered and paged, with millisecond instants', async () => {
    const audit = moduleRef.get(AuditLogRepository);
    const start = new Date('2030-01-01T00:00:00.000Z').getTime();
    const entry = (i: number, overrides: Partial<NewAuditLogEntry> = {}): NewAuditLogEntry => ({
      at: new Date(start + i * 250),
      actor: i % 2 === 0 ? 'admin-aaaaaaaa' : 'viewer-bbbbbbbb',
      role: i % 2 === 0 ? 'admin' : 'viewer',
      action: 'container.stop',
      method: 'POST',
      path: `/api/containers/c-${i % 3}/stop`,
      target: `c-${i % 3}`,
      outcome: i % 2 === 0 ? 'success' : 'failure',
      status: i % 2 === 0 ? 200 : 403,
      errorCode: i % 2 === 0 ? null : 'FORBIDDEN',
      details: { command: ['echo', `${i}`] },
      requestId: `request-${i}`,
      ...overrides,
    });
    for (let i = 0; i < 6; i++) await audit.append(entry(i));
    const all = await audit.list({ since: new Date(start) }, { limit: 50, offset: 0 });
    expect(all.total).toBe(6);
    expect(all.items.map((e) => e.requestId)).toEqual([5, 4, 3, 2, 1, 0].map((i) => `request-${i}`));
    expect(all.items[0]).toMatchObject({ details: { command: ['echo', '5'] }, errorCode: 'FORBIDDEN', role: 'viewer' });
    expect(all.items[0].at.toISOString()).toBe(new Date(start + 5 * 250).toISOString());

    const failures = await audit.list({ outcome: 'failure', actor: 'viewer-bbbbbbbb' }, { limit: 50, offset: 0 });
    expect(failures.items.map((e) => e.requestId)).toEqual(['request-5', 'request-3', 'request-1']);
    const onTarget = await audit.list({ target: 'c-0', action: 'container.stop' }, { limit: 50, offset: 0 });
    expect(onTarget.items.map((e) => e.requestId)).toEqual(['request-3', 'request-0']);
    // since is inclusive, until exclusive: [250 ms, 1000 ms) holds entries 1, 2 and 3.
    const window = await audit.list(
      { since: new Date(start + 250), until: new Date(start + 1000) },
      { limit: 50, offset: 0 },
    );
    expect(window.items.map((e) => e.requestId)).toEqual(['request-3', 'request-2', 'request-1']);
    const secondPage = await audit.list({ since: new Date(start) }, { limit: 4, offset: 4 });
    expect(secondPage).toMatchObject({ total: 6 });
    expect(secondPage.items.map((e) => e.requestId)).toEqual(['request-1', 'request-0']);
  });
});
