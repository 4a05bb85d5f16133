import { timingSafeEqual } from 'node:crypto';
import { apiKeyName, generateApiKey, hashApiKey, knownApiKey, matchApiKey } from './api-key.crypto';

// The real comparison, counted: the test below checks how many comparisons a lookup makes.
jest.mock('node:crypto', () => {
  const actual = jest.requireActual<typeof import('node:crypto')>('node:crypto');
  return { ...actual, timingSafeEqual: jest.fn(actual.timingSafeEqual) };
});
const compare = jest.mocked(timingSafeEqual);

describe('API key hashing and naming', () => {
  it('hashes with SHA-256', () => {
    expect(hashApiKey('abc').toString('hex')).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
  });

  it('names a key by its role and the first 8 hex of its hash, stable across calls', () => {
    expect(apiKeyName('viewer', hashApiKey('abc'))).toBe('viewer-ba7816bf');
    expect(knownApiKey('abc', 'admin')).toEqual({ name: 'admin-ba7816bf', role: 'admin', hash: hashApiKey('abc') });
    expect(knownApiKey('abc', 'admin').name).toBe(knownApiKey('abc', 'admin').name);
  });

  it('generates 32 random bytes as base64url, acceptable in RUNNERHUB_API_KEYS', () => {
    const keys = new Set(Array.from({ length: 20 }, generateApiKey));
    expect(keys.size).toBe(20);
    for (const key of keys) {
      expect(key).toMatch(/^[A-Za-z0-9_-]{43}$/);
      expect(Buffer.from(key, 'base64url')).toHaveLength(32);
    }
  });
});

describe(matchApiKey.name, () => {
  const known = [knownApiKey('first-key-0123456789', 'viewer'), knownApiKey('second-key-0123456789', 'admin')];

  beforeEach(() => compare.mockClear());

  it('finds the key a presented key hashes to, and nothing for any other', () => {
    expect(matchApiKey(hashApiKey('second-key-0123456789'), known)?.role).toBe('admin');
    expect(matchApiKey(hashApiKey('first-key-0123456789'), known)?.role).toBe('viewer');
    expect(matchApiKey(hashApiKey('second-key-012345678'), known)).toBeUndefined();
    expect(matchApiKey(hashApiKey(''), known)).toBeUndefined();
    expect(matchApiKey(hashApiKey('anything'), [])).toBeUndefined();
  });

  it('compares against every known hash in constant time, even after a match', () => {
    matchApiKey(hashApiKey('first-key-0123456789'), known);
    expect(compare).toHaveBeenCalledTimes(known.length);
    compare.mockClear();
    matchApiKey(hashApiKey('no-such-key-0123456789'), known);
    expect(compare).toHaveBeenCalledTimes(known.length);
  });

  it('takes the first of two entries for the same key', () => {
    const twice = [knownApiKey('same-key-0123456789', 'operator'), knownApiKey('same-key-0123456789', 'admin')];
    expect(matchApiKey(hashApiKey('same-key-0123456789'), twice)?.role).toBe('operator');
  });
});
