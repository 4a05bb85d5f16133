import { chooseEngine, EngineLoad, PlacementEngine, PlacementRequest, requiredEngineLabels } from './engine-placement';

const GIB = 1024;

function engine(name: string, overrides: Partial<PlacementEngine> = {}): PlacementEngine {
  return {
    name,
    labels: [],
    state: 'active',
    memoryMb: null,
    cpuMillis: null,
    maxContainers: null,
    infoMemoryMb: null,
    ...overrides,
  };
}

function loads(entries: Record<string, Partial<EngineLoad>>): Map<string, EngineLoad> {
  return new Map(
    Object.entries(entries).map(([name, load]) => [name, { containers: 0, memoryMb: 0, cpuMillis: 0, ...load }]),
  );
}

const runner = (labels: string[] = ['self-hosted', 'linux']): PlacementRequest => ({
  labels,
  memoryMb: 2 * GIB,
  cpuMillis: 1000,
});

describe(chooseEngine.name, () => {
  describe('labels', () => {
    const fleet = [engine('a'), engine('gpu-1', { labels: ['gpu'] }), engine('arm', { labels: ['arm64'] })];

    it('treats only labels some engine carries as engine labels; the runner labels constrain nothing', () => {
      expect(requiredEngineLabels(fleet, ['self-hosted', 'Linux', 'GPU'])).toEqual(['gpu']);
      expect(chooseEngine(fleet, loads({}), runner(['self-hosted', 'gpu']), 'spread')).toMatchObject({
        engineName: 'gpu-1',
      });
    });

    it('places a job that asks for no engine label anywhere, labelled engines included', () => {
      const busy = loads({ a: { containers: 5 }, arm: { containers: 5 } });
      expect(chooseEngine(fleet, busy, runner(), 'spread')).toMatchObject({ engineName: 'gpu-1' });
    });

    it('waits when no engine carries every engine label asked for', () => {
      expect(chooseEngine(fleet, loads({}), runner(['gpu', 'arm64']), 'spread')).toEqual({
        waiting: 'no active engine has the labels gpu, arm64',
        cause: 'labels',
      });
    });

    it('counts a label of an engine that is away as an engine label, and says which engines are away', () => {
      const away = [engine('a'), engine('b', { labels: ['gpu'], state: 'unreachable' })];
      expect(chooseEngine(away, loads({}), runner(['gpu']), 'spread')).toEqual({
        waiting: 'engines with the labels gpu are unreachable or draining: b (unreachable)',
        cause: 'not-active',
      });
    });
  });

  describe('state', () => {
    it('places nothing on a draining, drained or unreachable engine', () => {
      const fleet = [
        engine('a', { state: 'draining' }),
        engine('b', { state: 'drained' }),
        engine('c', { state: 'unreachable' }),
        engine('d'),
      ];
      expect(chooseEngine(fleet, loads({ d: { containers: 50 } }), runner(), 'spread')).toMatchObject({
        engineName: 'd',
      });
      expect(chooseEngine(fleet.slice(0, 3), loads({}), runner(), 'spread')).toEqual({
        waiting: 'every engine is unreachable or draining: a (draining), b (drained), c (unreachable)',
        cause: 'not-active',
      });
    });
  });

  describe('capacity', () => {
    it('refuses an engine whose slots are all taken, and one without the memory left', () => {
      const fleet = [engine('a', { memoryMb: 8 * GIB }), engine('b', { maxContainers: 10 })];
      const full = loads({ a: { containers: 3, memoryMb: 7.5 * GIB }, b: { containers: 10 } });
      expect(chooseEngine(fleet, full, runner(), 'spread')).toEqual({
        waiting: 'no engine has room: a 0.5 GiB free of 8 (needs 2), b 10 of 10 slots',
        cause: 'room',
      });
    });

    it("holds placements to the operator's memory figure, never to the engine's own MemTotal", () => {
      const fromInfo = [engine('a', { infoMemoryMb: 4 * GIB })];
      expect(chooseEngine(fromInfo, loads({ a: { memoryMb: 3 * GIB } }), runner(), 'spread')).toMatchObject({
        engineName: 'a',
      });
      const given = [engine('a', { memoryMb: 4 * GIB, infoMemoryMb: 16 * GIB })];
      expect(chooseEngine(given, loads({ a: { memoryMb: 3 * GIB } }), runner(), 'spread')).toMatchObject({
        cause: 'room',
      });
    });

    it('enforces CPUs only when the operator gave them', () => {
      const given = [engine('a', { cpuMillis: 4000 })];
      expect(chooseEngine(given, loads({ a: { cpuMillis: 3500 } }), runner(), 'spread')).toEqual({
        waiting: 'no engine has room: a 0.5 CPUs free of 4 (needs 1)',
        cause: 'room',
      });
      // Quotas far beyond the host's cores: nothing given, nothing enforced.
      expect(chooseEngine([engine('a')], loads({ a: { cpuMillis: 64_000 } }), runner(), 'spread')).toMatchObject({
        engineName: 'a',
      });
    });

    it('says every dimension that is short on an engine', () => {
      const fleet = [engine('a', { memoryMb: 8 * GIB, maxContainers: 4 })];
      expect(chooseEngine(fleet, loads({ a: { containers: 4, memoryMb: 7 * GIB } }), runner(), 'spread')).toEqual({
        waiting: 'no engine has room: a 1 GiB free of 8 (needs 2) and 4 of 4 slots',
        cause: 'room',
      });
    });

    it('fits a container that takes exactly what is left', () => {
      const fleet = [engine('a', { memoryMb: 8 * GIB, maxContainers: 4 })];
      expect(chooseEngine(fleet, loads({ a: { containers: 3, memoryMb: 6 * GIB } }), runner(), 'pack')).toEqual({
        engineName: 'a',
        reason: 'engine a: 2 GiB free of 8, 3 of 4 slots (pack)',
      });
    });
  });

  describe('spread and pack', () => {
    const fleet = [
      engine('a', { memoryMb: 8 * GIB, maxContainers: 10 }),
      engine('b', { memoryMb: 8 * GIB, maxContainers: 10 }),
      engine('c', { memoryMb: 8 * GIB, maxContainers: 10 }),
    ];
    const load = loads({ a: { containers: 1, memoryMb: 2 * GIB }, b: { containers: 3, memoryMb: 4.9 * GIB } });

    it('spread takes the engine with the most room left, and says how much it had', () => {
      expect(chooseEngine(fleet, load, runner(), 'spread')).toEqual({
        engineName: 'c',
        reason: 'engine c: 8 GiB free of 8, 0 of 10 slots (spread)',
      });
    });

    it('pack takes the fullest engine that still fits, so idle engines stay empty', () => {
      expect(chooseEngine(fleet, load, runner(), 'pack')).toEqual({
        engineName: 'b',
        reason: 'engine b: 3.1 GiB free of 8, 3 of 10 slots (pack)',
      });
    });

    it('pack passes over an engine too full for the request', () => {
      const tight = loads({ a: { containers: 1, memoryMb: 2 * GIB }, b: { containers: 3, memoryMb: 6.5 * GIB } });
      expect(chooseEngine(fleet, tight, runner(), 'pack')).toMatchObject({ engineName: 'a' });
    });

    it("weighs each engine's tightest dimension: a big engine with room beats a small empty one", () => {
      const sized = [engine('small', { memoryMb: 4 * GIB }), engine('big', { memoryMb: 64 * GIB })];
      expect(
        chooseEngine(sized, loads({ big: { containers: 2, memoryMb: 8 * GIB } }), runner(), 'spread'),
      ).toMatchObject({ engineName: 'big' });
      expect(chooseEngine(sized, loads({ big: { containers: 2, memoryMb: 8 * GIB } }), runner(), 'pack')).toMatchObject(
        {
          engineName: 'small',
        },
      );
    });

    it('breaks ties between unlimited engines by containers, then by name', () => {
      const open = [engine('b'), engine('a'), engine('c')];
      const some = loads({ a: { containers: 2 }, b: { containers: 1 }, c: { containers: 1 } });
      expect(chooseEngine(open, some, runner(), 'spread')).toEqual({
        engineName: 'b',
        reason: 'engine b: memory unlimited, 1 container, no slot limit (spread)',
      });
      expect(chooseEngine(open, some, runner(), 'pack')).toMatchObject({ engineName: 'a' });
      expect(chooseEngine(open, loads({}), runner(), 'pack')).toMatchObject({ engineName: 'a' });
      expect(chooseEngine(open, loads({}), runner(), 'spread')).toMatchObject({ engineName: 'a' });
    });

    it('shows the CPUs left when the operator gave a CPU figure', () => {
      const withCpus = [engine('a', { memoryMb: 8 * GIB, cpuMillis: 4000, maxContainers: 10 })];
      expect(
        chooseEngine(withCpus, loads({ a: { containers: 1, memoryMb: GIB, cpuMillis: 1500 } }), runner(), 'spread'),
      ).toEqual({ engineName: 'a', reason: 'engine a: 7 GiB free of 8, 2.5 CPUs free of 4, 1 of 10 slots (spread)' });
    });
  });

  describe('a pinned engine', () => {
    const fleet = [
      engine('a'),
      engine('b', { maxContainers: 2 }),
      engine('c', { state: 'draining' }),
      engine('g', { labels: ['gpu'] }),
    ];

    it('is the only engine considered', () => {
      expect(chooseEngine(fleet, loads({ b: { containers: 1 } }), { ...runner(), engineName: 'b' }, 'spread')).toEqual({
        engineName: 'b',
        reason: 'engine b: memory unlimited, 1 of 2 slots (pinned)',
      });
      expect(chooseEngine(fleet, loads({ b: { containers: 2 } }), { ...runner(), engineName: 'b' }, 'spread')).toEqual({
        waiting: 'engine b has no room: 2 of 2 slots',
        cause: 'room',
      });
    });

    it('says when it does not exist, is not active, or lacks a label', () => {
      expect(chooseEngine(fleet, loads({}), { ...runner(), engineName: 'x' }, 'spread')).toEqual({
        waiting: 'no engine is named x',
        cause: 'unknown-engine',
      });
      expect(chooseEngine(fleet, loads({}), { ...runner(), engineName: 'c' }, 'spread')).toEqual({
        waiting: 'engine c (draining) takes no new containers',
        cause: 'not-active',
      });
      expect(chooseEngine(fleet, loads({}), { ...runner(['gpu']), engineName: 'a' }, 'spread')).toEqual({
        waiting: 'engine a does not have the labels gpu',
        cause: 'labels',
      });
    });
  });

  it('waits when there is no engine at all', () => {
    expect(chooseEngine([], loads({}), runner(), 'spread')).toEqual({
      waiting: 'no engine is configured',
      cause: 'unknown-engine',
    });
  });
});
