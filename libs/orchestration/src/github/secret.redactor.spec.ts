import { randomBytes } from 'node:crypto';
import { REDACTED, redactSecrets } from './secret.redactor';

const base64 = (value: unknown) =>
  Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64');

/** What generate-jitconfig returns as encoded_jit_config: base64 JSON of the runner's files, each base64. */
const JIT_CONFIG = base64({
  '.runner': base64({
    agentId: 23,
    agentName: 'runnerhub-5f0c',
    poolId: 1,
    poolName: 'Default',
    serverUrl: 'https://pipelinesghubeus6.actions.githubusercontent.com/X1y2Z3/',
    gitHubUrl: 'https://github.com/octo-org/app',
    workFolder: '_work',
    ephemeral: true,
  }),
  '.credentials': base64({
    scheme: 'OAuth',
    data: {
      clientId: 'c1a2b3c4-d5e6-4f70-8192-a3b4c5d6e7f8',
      authorizationUrl: 'https://pipelinesghubeus6.actions.githubusercontent.com/X1y2Z3/_apis/oauth2/token',
    },
  }),
  '.credentials_rsaparams': base64({
    d: randomBytes(256).toString('base64'),
    dp: randomBytes(128).toString('base64'),
    exponent: 'AQAB',
    modulus: randomBytes(256).toString('base64'),
    p: randomBytes(128).toString('base64'),
  }),
});

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
    ['a JIT configuration', JIT_CONFIG],
    ['the start of a JIT configuration cut short', JIT_CONFIG.slice(0, 80)],
    ['the documented registration token', 'LLBF3JGZDX3P5PMEXLND6TS6FCWO6'],
    ['a registration token as GitHub issues them', 'AABF3JGZDX3P5PMEXLND6TS6FCWO6'],
    [
      "docker's X-Registry-Auth (base64url JSON with a password)",
      Buffer.from(
        JSON.stringify({ username: 'ci', password: 'hunter2-but-longer', serveraddress: 'ghcr.io' }),
      ).toString('base64url'),
    ],
  ])('removes %s it was not told about', (_what, secret) => {
    expect(redactSecrets(`before ${secret} after`)).not.toContain(secret.slice(4, 30));
    expect(redactSecrets(`before ${secret}`)).toContain(REDACTED);
  });

  it('removes a JIT configuration and a registration token wherever they stand in a line', () => {
    const line = `container env RUNNER_JITCONFIG=${JIT_CONFIG} and "token":"AABF3JGZDX3P5PMEXLND6TS6FCWO6",`;
    expect(redactSecrets(line)).toBe(`container env RUNNER_JITCONFIG=${REDACTED} and "token":"${REDACTED}",`);
  });

  it('leaves ordinary text alone', () => {
    const text = 'Resource not accessible by integration - https://docs.github.com/rest';
    expect(redactSecrets(text)).toBe(text);
  });

  it.each([
    ['an engine container id', 'f'.repeat(12) + '0123456789abcdef'.repeat(3) + '0123'],
    ['a UUID', 'c1a2b3c4-d5e6-4f70-8192-a3b4c5d6e7f8'],
    ['an error code', 'GITHUB_NOT_CONFIGURED_FOR_THIS_RUNNERHUB'],
    ['a 29-digit number', '12345678901234567890123456789'],
    ['a short base64 JSON', base64({ a: 1 })],
    ['a commit sha', 'da39a3ee5e6b4b0d3255bfef95601890afd80709'],
  ])('leaves %s alone', (_what, text) => {
    expect(redactSecrets(`value ${text} end`)).toBe(`value ${text} end`);
  });
});
