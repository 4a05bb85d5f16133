import { REDACTED, redactSecrets } from './secret.redactor';

describe(redactSecrets.name, () => {
  it('removes known values wherever they appear', () => {
    expect(redactSecrets('a s3cretValue b s3cretValue', ['s3cretValue'])).toBe(`a ${REDACTED} b ${REDACTED}`);
  });

  it('ignores known values too short to be secrets, and empty ones', () => {
    expect(redactSecrets('token abc', ['abc', '', undefined])).toBe('token abc');
  });

  it.each([
    ['a classic token', 'ghp_0123456789abcdefghijABCDEFGHIJ012345'],
    ['an installation token', 'ghs_16C7e42F292c6912E7710c838347Ae178B4a'],
    ['a fine-grained token', 'github_pat_11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyz'],
    ['an old installation token', 'v1.0123456789abcdef0123456789abcdef01234567'],
    ['a JWT', 'eyJhbGciOiJSUzI1NiJ9.eyJpc3MiOjF9.c2lnbmF0dXJl'],
    ['a PEM key', '-----BEGIN RSA PRIVATE KEY-----\nMIIEow\nabc\n-----END RSA PRIVATE KEY-----'],
    ['the start of a PEM key cut short', '-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC'],
  ])('removes %s it was not told about', (_what, secret) => {
    expect(redactSecrets(`before ${secret} after`)).not.toContain(secret.slice(4, 30));
    expect(redactSecrets(`before ${secret}`)).toContain(REDACTED);
  });

  it('leaves ordinary text alone', () => {
    const text = 'Resource not accessible by integration - https://docs.github.com/rest';
    expect(redactSecrets(text)).toBe(text);
  });
});
