import { Writable } from 'node:stream';
import { loadAppConfig } from '@app/common';
import pinoHttp from 'pino-http';
import { pinoHttpOptions } from './pino-options';

const JIT_CONFIG = Buffer.from(
  JSON.stringify({
    '.runner': Buffer.from(JSON.stringify({ agentId: 7, agentName: 'runnerhub-1', poolId: 1 })).toString('base64'),
    '.credentials_rsaparams': Buffer.from(JSON.stringify({ d: 'x'.repeat(340), exponent: 'AQAB' })).toString('base64'),
  }),
).toString('base64');
const REGISTRATION_TOKEN = 'AABF3JGZDX3P5PMEXLND6TS6FCWO6';

/** A logger built exactly as RunnerHub's, writing its JSON lines into an array. */
function capture() {
  const lines: Array<Record<string, unknown>> = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString().split('\n').filter(Boolean))
        lines.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  const options = pinoHttpOptions(loadAppConfig({ LOG_FORMAT: 'json', LOG_LEVEL: 'debug' }));
  const { logger } = pinoHttp(options, sink);
  return { logger, lines, text: () => JSON.stringify(lines) };
}

describe(pinoHttpOptions.name, () => {
  it('redacts JIT configurations and registration tokens in messages, whatever logged them', () => {
    const { logger, lines, text } = capture();
    logger.warn({ context: 'RunnerProvisioner' }, `create failed: RUNNER_JITCONFIG=${JIT_CONFIG}`);
    logger.info(`token ${REGISTRATION_TOKEN} issued`);
    expect(lines.map((line) => line.msg)).toEqual([
      'create failed: RUNNER_JITCONFIG=[REDACTED]',
      'token [REDACTED] issued',
    ]);
    expect(text()).not.toContain(REGISTRATION_TOKEN);
    expect(text()).not.toContain(JIT_CONFIG.slice(0, 40));
  });

  it("redacts an error's message and stack", () => {
    const { logger, lines, text } = capture();
    logger.error({ err: new Error(`GitHub answered with ${REGISTRATION_TOKEN}`) }, 'failed');
    const err = lines[0].err as { message: string; stack: string; type: string };
    expect(err).toMatchObject({ type: 'Error', message: 'GitHub answered with [REDACTED]' });
    expect(err.stack).toContain('GitHub answered with [REDACTED]');
    expect(text()).not.toContain(REGISTRATION_TOKEN);
  });

  it('redacts credential fields by path; a request is logged as its id, method, redacted URL and address, no headers', () => {
    const { logger, lines, text } = capture();
    logger.info({ registration: { token: 'opaque-secret-value', encodedJitConfig: 'opaque-jit' } }, 'registered');
    logger.info(
      {
        req: {
          method: 'GET',
          url: `/api/jobs?t=${REGISTRATION_TOKEN}`,
          query: { t: REGISTRATION_TOKEN, nested: [{ jit: JIT_CONFIG }] },
          params: { id: REGISTRATION_TOKEN },
          headers: { authorization: 'Bearer abc', 'x-hub-signature': 'sha1=0123', 'x-request-id': 'kept' },
          id: 'req-7',
          socket: { remoteAddress: '10.0.0.9' },
        },
      },
      'request completed',
    );
    const logged = text();
    for (const secret of ['opaque-secret-value', 'opaque-jit', REGISTRATION_TOKEN, 'Bearer abc', 'sha1=0123']) {
      expect([secret, logged.includes(secret)]).toEqual([secret, false]);
    }
    expect(lines[1].req).toEqual({
      id: 'req-7',
      method: 'GET',
      url: '/api/jobs?t=[REDACTED]',
      remoteAddress: '10.0.0.9',
    });
  });
});
