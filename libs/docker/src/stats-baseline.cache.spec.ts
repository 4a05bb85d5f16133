import { StatsBaselineCache } from './stats-baseline.cache';

const sample = (total: number) => ({ cpu_stats: { cpu_usage: { total_usage: total }, system_cpu_usage: total * 10 } });
const FULL_A = 'a'.repeat(64);
const FULL_B = 'b'.repeat(64);

describe('StatsBaselineCache', () => {
  it('returns the last sample of a container while it is recent enough', () => {
    const cache = new StatsBaselineCache(10, 1_000);
    cache.remember(FULL_A, sample(1), 0);
    cache.remember(FULL_A, sample(2), 100);
    expect(cache.get(FULL_A, 1_100)).toEqual(sample(2));
  });

  it('drops a sample older than the maximum age', () => {
    const cache = new StatsBaselineCache(10, 1_000);
    cache.remember(FULL_A, sample(1), 0);
    expect(cache.get(FULL_A, 1_001)).toBeUndefined();
    expect(cache.size).toBe(0);
  });

  it('finds a container by its short id, but not by an ambiguous or too short prefix', () => {
    const cache = new StatsBaselineCache(10, 1_000);
    cache.remember(FULL_A, sample(1), 0);
    cache.remember(`${'a'.repeat(12)}${'c'.repeat(52)}`, sample(3), 0);
    cache.remember(FULL_B, sample(2), 0);
    expect(cache.get(FULL_B.slice(0, 12), 0)).toEqual(sample(2));
    expect(cache.get(FULL_A.slice(0, 12), 0)).toBeUndefined();
    expect(cache.get('bbbb', 0)).toBeUndefined();
  });

  it('holds at most its capacity, dropping the least recently sampled container first', () => {
    const cache = new StatsBaselineCache(2, 1_000);
    cache.remember(FULL_A, sample(1), 0);
    cache.remember(FULL_B, sample(2), 0);
    cache.remember(FULL_A, sample(3), 1);
    cache.remember('c'.repeat(64), sample(4), 2);
    expect(cache.size).toBe(2);
    expect(cache.get(FULL_B, 2)).toBeUndefined();
    expect(cache.get(FULL_A, 2)).toEqual(sample(3));
  });

  it('forgets a removed container', () => {
    const cache = new StatsBaselineCache(10, 1_000);
    cache.remember(FULL_A, sample(1), 0);
    cache.forget(FULL_A.slice(0, 12));
    expect(cache.get(FULL_A, 0)).toBeUndefined();
  });
});
