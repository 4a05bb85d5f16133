const BEARER = /^Bearer +(\S+) *$/i;

/**
 * The key in an `Authorization: Bearer <key>` header: `missing` without a header, `malformed` for anything but one
 * bearer token. The scheme name is case-insensitive (RFC 7235).
 */
export function readBearerKey(header: string | undefined): { key: string } | 'missing' | 'malformed' {
  if (header === undefined || header.trim() === '') return 'missing';
  const key = BEARER.exec(header)?.[1];
  return key === undefined ? 'malformed' : { key };
}
