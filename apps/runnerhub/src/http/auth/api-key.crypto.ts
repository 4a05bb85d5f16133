import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Role } from './auth.decorators';

/** A key as RunnerHub holds it in memory: its hash and the name and role it stands for, never the key itself. */
export interface KnownApiKey {
  name: string;
  role: Role;
  /** SHA-256 of the key (32 bytes). */
  hash: Buffer;
}

export function hashApiKey(key: string): Buffer {
  return createHash('sha256').update(key, 'utf8').digest();
}

/**
 * A stable name that says whose key made a call without revealing it: `<role>-<first 8 hex of its SHA-256>`. Eight
 * hex digits of a hash leave the key's 128+ bits of secret untouched and are plenty to tell a handful of keys apart.
 */
export function apiKeyName(role: Role, hash: Buffer): string {
  return `${role}-${hash.toString('hex').slice(0, 8)}`;
}

export function knownApiKey(key: string, role: Role): KnownApiKey {
  const hash = hashApiKey(key);
  return { name: apiKeyName(role, hash), role, hash };
}

/** A fresh key: 32 random bytes, base64url (43 characters, valid in RUNNERHUB_API_KEYS as well). */
export function generateApiKey(): string {
  return randomBytes(32).toString('base64url');
}

/**
 * The known key whose hash equals the presented key's hash, if any. Every known hash is compared, in constant time
 * each, and the loop never stops early: how long this takes says how many keys there are, and nothing about which
 * one matched or how much of a guess was right. Comparing hashes also makes the lengths equal whatever was sent.
 */
export function matchApiKey(presentedHash: Buffer, known: readonly KnownApiKey[]): KnownApiKey | undefined {
  let match: KnownApiKey | undefined;
  for (const candidate of known) {
    const equal = timingSafeEqual(presentedHash, candidate.hash);
    if (equal && match === undefined) match = candidate;
  }
  return match;
}
