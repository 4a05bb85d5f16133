import { AppConfigModule, ContainerState, DomainError, ErrorCode, loadAppConfig } from '@app/common';
import { Test, TestingModule } from '@nestjs/testing';
import { getDataSourceToken } from '@nestjs/typeorm';
import { randomUUID } from 'node:crypto';
import { DataSource } from 'typeorm';
import { createTestDatabase, TestDatabase, testDatabaseKinds } from '../../../test/support/databases';
import { ContainerRecordRepository, NewContainerRecord, PersistenceModule } from '.';

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
    expect(applied.map((row) => row.name)).toEqual(['CreateContainers1764374400000']);
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
});
