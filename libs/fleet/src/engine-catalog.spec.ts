import { AppConfig, DomainError, EngineSetting, ErrorCode } from '@app/common';
import { EngineRegistry } from '@app/docker';
import { EngineChanges, EngineDefinition, EngineEntity, EngineRepository, EngineState } from '@app/persistence';
import { SchedulerRegistry } from '@nestjs/schedule';
import { EngineCatalog } from './engine-catalog';
import { EngineChange, EngineChangeNotifier } from './engine-change.notifier';
import { EngineAnswer, EngineContact } from './engine-contact';

/** The `engines` table as EngineRepository keeps it, in memory; `interfere` lets another writer win the next update. */
class FakeEngineTable {
  readonly rows = new Map<string, EngineEntity>();
  interferences = 0;

  findByName(name: string): Promise<EngineEntity | null> {
    const row = this.rows.get(name);
    return Promise.resolve(row ? { ...row } : null);
  }

  async get(name: string): Promise<EngineEntity> {
    const row = await this.findByName(name);
    if (!row) throw new DomainError(ErrorCode.NotFound, `No Docker engine is named "${name}"`);
    return row;
  }

  insert(definition: EngineDefinition, source: 'config' | 'api', state: EngineState = 'active'): Promise<EngineEntity> {
    const now = new Date();
    this.rows.set(definition.name, {
      ...definition,
      infoMemoryMb: null,
      infoCpuMillis: null,
      state,
      stateReason: null,
      stateChangedAt: now,
      source,
      lastSeenAt: null,
      createdAt: now,
      updatedAt: now,
      version: 1,
    });
    return this.get(definition.name);
  }

  recordSeen(): Promise<void> {
    return Promise.resolve();
  }

  update(name: string, expectedVersion: number, changes: EngineChanges): Promise<EngineEntity> {
    const row = this.rows.get(name)!;
    if (this.interferences > 0) {
      // The prober wrote the engine in between: its version moved on.
      this.interferences -= 1;
      row.version += 1;
    }
    if (row.version !== expectedVersion) {
      return Promise.reject(new DomainError(ErrorCode.Conflict, `Engine ${name} was changed by another request`));
    }
    Object.assign(row, changes, { version: row.version + 1 });
    return this.get(name);
  }

  moveState(name: string, from: EngineState[], to: EngineState, reason: string): Promise<boolean> {
    const row = this.rows.get(name)!;
    if (!from.includes(row.state)) return Promise.resolve(false);
    Object.assign(row, { state: to, stateReason: reason, version: row.version + 1 });
    return Promise.resolve(true);
  }
}

const DEFINITION: EngineDefinition = {
  name: 'b',
  endpoint: 'unix:///run/b.sock',
  tlsCertPath: null,
  labels: [],
  network: null,
  memoryMb: null,
  cpuMillis: null,
  maxContainers: null,
};

describe(EngineCatalog.name, () => {
  let table: FakeEngineTable;
  let answer: EngineAnswer;
  let connected: EngineSetting[];
  let announced: Array<{ event: string } & EngineChange>;
  let sut: EngineCatalog;

  beforeEach(() => {
    table = new FakeEngineTable();
    answer = { answered: true, info: null };
    connected = [];
    announced = [];
    const registry = {
      find: (name: string) => connected.find((setting) => setting.name === name),
      add: (setting: EngineSetting) => connected.push(setting),
    };
    const contact = { ask: () => Promise.resolve(answer) };
    const changes = {
      announce: (event: string, change: EngineChange) => {
        announced.push({ event, ...change });
        return Promise.resolve();
      },
    };
    sut = new EngineCatalog(
      { engines: [], engineProbe: { intervalMs: 1_000, unreachableAfterMs: 5_000 } } as unknown as AppConfig,
      registry as unknown as EngineRegistry,
      table as unknown as EngineRepository,
      contact as unknown as EngineContact,
      changes as unknown as EngineChangeNotifier,
      {} as SchedulerRegistry,
    );
  });

  it('refuses an engine that does not answer, saying what was tried, and writes and connects nothing', async () => {
    answer = { answered: false, tried: 'ping unix:///run/b.sock', error: 'the socket does not exist' };

    const error = await sut.add({ name: 'b', host: 'unix:///run/b.sock' }, 'admin-1').catch((e: unknown) => e);

    expect(error).toBeInstanceOf(DomainError);
    expect(error).toMatchObject({
      code: ErrorCode.EngineUnavailable,
      details: { engine: 'b', tried: 'ping unix:///run/b.sock', error: 'the socket does not exist' },
    });
    expect(table.rows.size).toBe(0);
    expect(connected).toEqual([]);
    expect(announced).toEqual([]);
  });

  it('adds an engine that does not answer when forced, and says so in the event', async () => {
    answer = { answered: false, tried: 'ping unix:///run/b.sock', error: 'the socket does not exist' };

    const added = await sut.add({ name: 'b', host: 'unix:///run/b.sock' }, 'admin-1', { force: true });

    expect(added).toMatchObject({ name: 'b', source: 'api', state: 'active' });
    expect(connected.map((setting) => setting.name)).toEqual(['b']);
    expect(announced).toEqual([
      expect.objectContaining({ event: 'engine:added', previousState: null, reason: expect.stringContaining('force') }),
    ]);
  });

  it("refuses a definition by DOCKER_ENGINES' rules, each problem naming its field", async () => {
    const error = await sut
      .add({ name: 'B!', host: 'ftp://x', labels: ['a b'], cpus: 0 }, 'admin-1')
      .catch((e: unknown) => e);

    expect(error).toMatchObject({ code: ErrorCode.ValidationFailed });
    const problems = (error as DomainError).details.problems as Array<{ field: string }>;
    expect(problems.map((problem) => problem.field)).toEqual(['name', 'host', 'labels', 'cpus']);
  });

  it('undrains an engine even when another write moves its version in between', async () => {
    await table.insert(DEFINITION, 'api', 'drained');
    table.interferences = 2;

    const engine = await sut.update('b', { state: 'active', labels: ['GPU'] }, 'admin-1');

    expect(engine).toMatchObject({ state: 'active', labels: ['gpu'], stateReason: 'undrained by admin-1' });
    expect(announced.map((change) => change.event)).toEqual(['engine:updated', 'engine:active']);
  });

  it("refuses to change a configured engine's definition, but undrains it", async () => {
    await table.insert({ ...DEFINITION, name: 'default' }, 'config', 'draining');

    const error = await sut.update('default', { maxContainers: 3 }, 'admin-1').catch((e: unknown) => e);
    expect(error).toMatchObject({ code: ErrorCode.Conflict, message: expect.stringContaining('DOCKER_ENGINES') });

    expect(await sut.update('default', { state: 'active' }, 'admin-1')).toMatchObject({ state: 'active' });
  });

  it('drains an active engine, leaves a drained one as it is, and refuses an unreachable one', async () => {
    await table.insert(DEFINITION, 'api');
    await table.insert({ ...DEFINITION, name: 'lost' }, 'api', 'unreachable');

    expect(await sut.drain('b', 'admin-1')).toMatchObject({ state: 'draining', stateReason: 'drain asked by admin-1' });
    expect(await sut.drain('b', 'admin-1')).toMatchObject({ state: 'draining' });
    await expect(sut.drain('lost', 'admin-1')).rejects.toMatchObject({ code: ErrorCode.IllegalTransition });
    expect(announced.map((change) => [change.event, change.engine])).toEqual([['engine:draining', 'b']]);
  });
});
