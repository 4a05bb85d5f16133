import { ThrottlerStorageService } from '@nestjs/throttler';
import { SlidingWindowThrottlerStorage } from './sliding-window.throttler-storage';

/** A small deterministic generator, so that a failure can be replayed from its seed. */
function random(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state * 1_103_515_245 + 12_345) % 2 ** 31;
    return state / 2 ** 31;
  };
}

describe(SlidingWindowThrottlerStorage.name, () => {
  let library: ThrottlerStorageService;
  let ours: SlidingWindowThrottlerStorage;

  beforeEach(() => {
    jest.useFakeTimers({ now: new Date('2026-12-02T10:00:00Z') });
    library = new ThrottlerStorageService();
    ours = new SlidingWindowThrottlerStorage();
  });

  afterEach(() => {
    library.onApplicationShutdown();
    ours.clear();
    jest.useRealTimers();
  });

  it.each([1, 2, 3, 4, 5, 6])(
    'answers every call as @nestjs/throttler’s own storage does (random calls, seed %i)',
    async (seed) => {
      const next = random(seed);
      for (let call = 0; call < 3_000; call++) {
        // Bursts and pauses: most calls a few ms apart, some seconds, a few past the window and the block.
        const roll = next();
        jest.advanceTimersByTime(
          roll < 0.8 ? Math.floor(next() * 50) : roll < 0.97 ? Math.floor(next() * 5_000) : 70_000,
        );
        const key = `key-${Math.floor(next() * 3)}`;
        const blockDuration = seed % 2 === 0 ? 0 : 30_000;
        const args = [key, 60_000, 5 + (seed % 3) * 10, blockDuration, seed % 3 === 0 ? 'other' : 'default'] as const;
        const expected = await library.increment(...args);
        const actual = await ours.increment(...args);
        expect([call, actual]).toEqual([call, expected]);
      }
    },
  );

  it('blocks the call past the limit for the block duration, then starts a new window', async () => {
    const call = () => ours.increment('key:ops', 60_000, 3, 10_000, 'default');
    for (let i = 1; i <= 3; i++) expect(await call()).toMatchObject({ totalHits: i, isBlocked: false });
    expect(await call()).toMatchObject({ totalHits: 4, isBlocked: true, timeToBlockExpire: 10 });
    jest.advanceTimersByTime(5_000);
    expect(await call()).toMatchObject({ isBlocked: true, timeToBlockExpire: 5 });
    jest.advanceTimersByTime(5_000);
    expect(await call()).toMatchObject({ totalHits: 1, isBlocked: false });
  });
});
