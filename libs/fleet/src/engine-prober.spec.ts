import { AppConfig, DomainError, EngineEventName, ErrorCode } from '@app/common';
import { EngineInfo, EngineRegistry } from '@app/docker';
import { EngineEntity, EngineRepository, EngineState } from '@app/persistence';
import { Logger } from '@nestjs/common';
import { EngineChange, EngineChangeNotifier } from './engine-change.notifier';
import { EngineOccupancy } from './engine-occupancy';
import { EngineProber } from './engine-prober';

const INTERVAL_MS = 1_000;
const UNREACHABLE_AFTER_MS = 5_000;
const START = new Date('2030-01-01T00:00:00.000Z').getTime();
const GIB = 1024 * 1024 * 1024;

/** How a fake engine answers a ping. */
type Behaviour = 'answers' | 'refuses' | 'hangs';

/** One Docker engine as the prober reaches it through the registry: a ping and an `info`. */
class FakeEngine {
  behaviour: Behaviour = 'answers';
  pings = 0;

  constructor(readonly info: EngineInfo) {}

  ping(): Promise<void> {
    this.pings += 1;
    if (this.behaviour === 'answers') return Promise.resolve();
    if (this.behaviour === 'hangs') return new Promise(() => undefined);
    return Promise.reject(
      new DomainError(ErrorCode.EngineUnavailable, 'Docker engine at unix:///run/b.sock is unavailable: ECONNREFUSED'),
    );
  }
}

/** The registry's side the prober uses: find(name) gives the engine's client, or nothing when it is not connected. */
class FakeRegistry {
  readonly engines = new Map<string, FakeEngine>();

  find(name: string) {
    const engine = this.engines.get(name);
    if (!engine) return undefined;
    return {
      name,
      endpoint: `unix:///run/${name}.sock`,
      engine: { ping: () => engine.ping(), info: () => Promise.resolve(engine.info) },
    };
  }
}

/** The `engines` table: list, recordSeen and moveState as EngineRepository does them, in memory. */
class FakeEngineTable {
  readonly rows = new Map<string, EngineEntity>();

  put(name: string, state: EngineState, seenAgoMs: number | null, changedAgoMs = 60_000): EngineEntity {
    const now = Date.now();
    const row = {
      name,
      endpoint: `unix:///run/${name}.sock`,
      tlsCertPath: null,
      labels: [],
      network: null,
      memoryMb: null,
      cpuMillis: null,
      maxContainers: null,
      infoMemoryMb: null,
      infoCpuMillis: null,
      state,
      stateReason: null,
      stateChangedAt: new Date(now - changedAgoMs),
      source: 'api',
      lastSeenAt: seenAgoMs === null ? null : new Date(now - seenAgoMs),
      createdAt: new Date(now - changedAgoMs),
      updatedAt: new Date(now),
      version: 1,
    } satisfies EngineEntity;
    this.rows.set(name, row);
    return row;
  }

  get(name: string): EngineEntity {
    return this.rows.get(name)!;
  }

  list(): Promise<EngineEntity[]> {
    return Promise.resolve([...this.rows.values()].map((row) => ({ ...row })));
  }

  recordSeen(name: string, seenAt: Date, info: { memoryMb: number; cpuMillis: number } | null): Promise<void> {
    const row = this.get(name);
    row.lastSeenAt = seenAt;
    if (info) Object.assign(row, { infoMemoryMb: info.memoryMb, infoCpuMillis: info.cpuMillis });
    return Promise.resolve();
  }

  moveState(name: string, from: EngineState[], to: EngineState, reason: string): Promise<boolean> {
    const row = this.get(name);
    if (!from.includes(row.state)) return Promise.resolve(false);
    Object.assign(row, { state: to, stateReason: reason, stateChangedAt: new Date(), version: row.version + 1 });
    return Promise.resolve(true);
  }
}

describe(EngineProber.name, () => {
  let registry: FakeRegistry;
  let table: FakeEngineTable;
  /** Engines with a live container or a placed job on them. */
  let occupied: Set<string>;
  let announced: Array<{ event: EngineEventName } & EngineChange>;
  let sut: EngineProber;

  function engine(name: string, behaviour: Behaviour = 'answers'): FakeEngine {
    const fake = new FakeEngine({
      storageDriver: 'overlay2',
      cgroupVersion: '2',
      cgroupDriver: 'systemd',
      cpus: 8,
      memoryBytes: 16 * GIB,
      serverVersion: '27.5.1',
    });
    fake.behaviour = behaviour;
    registry.engines.set(name, fake);
    return fake;
  }

  /** Lets the clock move on by ms, as the scheduler's interval would, firing nothing of the prober's own. */
  function elapse(ms: number): void {
    jest.setSystemTime(Date.now() + ms);
  }

  /** A round, and the probes it started that answer or fail (a hanging one never settles, so it is not awaited). */
  async function round(): Promise<void> {
    await sut.round();
    // setImmediate is left real: it runs once the probes' promise chains have settled.
    await new Promise((resolve) => setImmediate(resolve));
  }

  beforeEach(() => {
    jest.useFakeTimers({ now: START, doNotFake: ['setImmediate'] });
    jest.spyOn(Logger.prototype, 'log').mockImplementation(() => undefined);
    jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
    registry = new FakeRegistry();
    table = new FakeEngineTable();
    occupied = new Set();
    announced = [];
    const config = { engineProbe: { intervalMs: INTERVAL_MS, unreachableAfterMs: UNREACHABLE_AFTER_MS } } as AppConfig;
    const occupancy = { isEmpty: (name: string) => Promise.resolve(!occupied.has(name)) };
    const changes = {
      announce: (event: EngineEventName, change: EngineChange) => {
        announced.push({ event, ...change });
        return Promise.resolve();
      },
    };
    sut = new EngineProber(
      config,
      registry as unknown as EngineRegistry,
      table as unknown as EngineRepository,
      occupancy as unknown as EngineOccupancy,
      changes as unknown as EngineChangeNotifier,
    );
  });

  afterEach(() => {
    jest.useRealTimers();
    jest.restoreAllMocks();
  });

  /** Rounds every interval for ms, as the scheduler runs them while this replica leads. */
  async function roundsFor(ms: number): Promise<void> {
    for (let waited = 0; waited < ms; waited += INTERVAL_MS) {
      elapse(INTERVAL_MS);
      await round();
    }
  }

  it("records when an engine answered and its memory and CPUs from `info`, and leaves an active one's state", async () => {
    engine('a');
    table.put('a', 'active', 10_000);

    await round();

    expect(table.get('a')).toMatchObject({
      state: 'active',
      lastSeenAt: new Date(START),
      infoMemoryMb: 16 * 1024,
      infoCpuMillis: 8_000,
    });
    expect(announced).toEqual([]);
  });

  it('calls an active engine unreachable once it has been silent for ENGINE_UNREACHABLE_AFTER_MS, with its error', async () => {
    const b = engine('b');
    table.put('b', 'active', null);
    await round();
    b.behaviour = 'refuses';

    await roundsFor(UNREACHABLE_AFTER_MS - INTERVAL_MS);
    expect(table.get('b').state).toBe('active');

    await roundsFor(INTERVAL_MS);
    expect(table.get('b')).toMatchObject({
      state: 'unreachable',
      stateReason: expect.stringContaining('ECONNREFUSED'),
    });
    expect(table.get('b').stateReason).toContain(`no answer for ${UNREACHABLE_AFTER_MS} ms`);
    expect(announced).toEqual([
      {
        event: 'engine:unreachable',
        engine: 'b',
        previousState: 'active',
        state: 'unreachable',
        reason: table.get('b').stateReason,
        actor: 'system',
      },
    ]);
  });

  it('makes an unreachable engine active again as soon as it answers', async () => {
    engine('c');
    table.put('c', 'unreachable', 120_000);

    await round();

    expect(table.get('c')).toMatchObject({ state: 'active', lastSeenAt: new Date(START) });
    expect(announced).toEqual([
      expect.objectContaining({ event: 'engine:active', engine: 'c', previousState: 'unreachable', actor: 'system' }),
    ]);
  });

  it('gives an engine that never answered the grace from when it entered its state', async () => {
    await round();
    await roundsFor(3 * INTERVAL_MS);
    engine('d', 'refuses');
    table.put('d', 'active', null, 0);

    await roundsFor(UNREACHABLE_AFTER_MS - INTERVAL_MS);
    expect(table.get('d').state).toBe('active');

    await roundsFor(INTERVAL_MS);
    expect(table.get('d').state).toBe('unreachable');
    expect(table.get('d').stateReason).toMatch(/^no answer for as long as it has been probed .*ECONNREFUSED/);
  });

  it('does not count the time before this replica began probing: after a restart, an old lastSeenAt is no verdict', async () => {
    const e = engine('e');
    table.put('e', 'active', 3_600_000);
    e.behaviour = 'hangs';

    await round();
    expect(table.get('e').state).toBe('active');

    await roundsFor(UNREACHABLE_AFTER_MS - INTERVAL_MS);
    expect(table.get('e').state).toBe('active');

    await roundsFor(INTERVAL_MS);
    expect(table.get('e')).toMatchObject({
      state: 'unreachable',
      stateReason: expect.stringContaining('its last ping is still waiting for an answer'),
    });
  });

  it('probes each engine on its own: one that hangs delays neither the others nor the verdict on itself', async () => {
    const hanging = engine('hangs', 'hangs');
    const healthy = engine('healthy');
    table.put('hangs', 'active', 0);
    table.put('healthy', 'active', 0);

    await round();
    await roundsFor(UNREACHABLE_AFTER_MS);

    // The hanging ping is still under way: it is not asked again, while the healthy engine is asked every round.
    expect(hanging.pings).toBe(1);
    expect(healthy.pings).toBe(1 + UNREACHABLE_AFTER_MS / INTERVAL_MS);
    expect(table.get('healthy')).toMatchObject({ state: 'active', lastSeenAt: new Date(Date.now()) });
    expect(table.get('hangs').state).toBe('unreachable');
  });

  it('calls a draining engine drained once no container or job is left on it, and not before', async () => {
    engine('f');
    table.put('f', 'draining', 0);
    occupied.add('f');

    await round();
    expect(table.get('f').state).toBe('draining');

    occupied.delete('f');
    await roundsFor(INTERVAL_MS);
    expect(table.get('f')).toMatchObject({ state: 'drained', stateReason: expect.stringContaining('no container') });
    expect(announced).toEqual([
      expect.objectContaining({ event: 'engine:drained', engine: 'f', previousState: 'draining', state: 'drained' }),
    ]);
  });

  it('calls a silent draining engine unreachable (its jobs must move), but leaves a silent drained one drained', async () => {
    engine('g', 'refuses');
    engine('h', 'refuses');
    table.put('g', 'draining', 0);
    table.put('h', 'drained', 0);
    occupied.add('g');

    await round();
    await roundsFor(UNREACHABLE_AFTER_MS);

    expect(table.get('g').state).toBe('unreachable');
    expect(table.get('h').state).toBe('drained');
    expect(announced.map(({ event, engine: name }) => [event, name])).toEqual([['engine:unreachable', 'g']]);
  });

  it('says so when an engine of the table is not connected on this replica', async () => {
    table.put('ghost', 'active', 0);

    await round();
    await roundsFor(UNREACHABLE_AFTER_MS);

    expect(table.get('ghost')).toMatchObject({
      state: 'unreachable',
      stateReason: expect.stringContaining('not connected on the replica that probes the engines'),
    });
  });
});
