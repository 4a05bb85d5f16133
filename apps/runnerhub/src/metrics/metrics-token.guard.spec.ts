import { loadAppConfig } from '@app/common';
import { ExecutionContext, Logger, UnauthorizedException } from '@nestjs/common';
import { ExecutionContextHost } from '@nestjs/core/helpers/execution-context-host';
import { MetricsTokenGuard } from './metrics-token.guard';

const TOKEN = 'prometheus-scrape-token-0123456789';

function scrape(authorization?: string) {
  const request = { headers: authorization === undefined ? {} : { authorization } };
  const headers: Record<string, string> = {};
  const response = { setHeader: (name: string, value: string) => (headers[name.toLowerCase()] = value) };
  const context = new ExecutionContextHost([request, response, () => undefined]);
  context.setType('http');
  return { context: context as ExecutionContext, headers };
}

/** The status and challenge of a refused scrape; undefined when it was let through. */
function refusal(guard: MetricsTokenGuard, authorization?: string) {
  const { context, headers } = scrape(authorization);
  try {
    guard.canActivate(context);
    return undefined;
  } catch (error) {
    if (!(error instanceof UnauthorizedException)) throw error;
    return { status: error.getStatus(), challenge: headers['www-authenticate'] };
  }
}

describe(MetricsTokenGuard.name, () => {
  let warnings: jest.SpyInstance;

  beforeEach(() => {
    warnings = jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
  });

  afterEach(() => warnings.mockRestore());

  describe('with METRICS_TOKEN', () => {
    const guard = new MetricsTokenGuard(loadAppConfig({ METRICS_TOKEN: TOKEN }));

    it('lets the bearer of the token through', () => {
      expect(refusal(guard, `Bearer ${TOKEN}`)).toBeUndefined();
      expect(refusal(guard, `bearer ${TOKEN}`)).toBeUndefined();
    });

    it('refuses a scrape without the token with 401 and a bearer challenge', () => {
      expect(refusal(guard)).toEqual({ status: 401, challenge: 'Bearer realm="RunnerHub metrics"' });
    });

    it.each([
      ['another token', 'Bearer prometheus-scrape-token-0123456788'],
      ['a prefix of the token', `Bearer ${TOKEN.slice(0, -1)}`],
      ['the token and more', `Bearer ${TOKEN}x`],
      ['basic credentials', `Basic ${Buffer.from(`x:${TOKEN}`).toString('base64')}`],
    ])('refuses %s as an invalid token', (_what, authorization) => {
      expect(refusal(guard, authorization)).toEqual({
        status: 401,
        challenge: 'Bearer realm="RunnerHub metrics", error="invalid_token"',
      });
    });

    it('says nothing at start', () => {
      guard.onApplicationBootstrap();
      expect(warnings).not.toHaveBeenCalled();
    });
  });

  describe('without METRICS_TOKEN', () => {
    const guard = new MetricsTokenGuard(loadAppConfig({}));

    it('lets every scrape through, and warns at start that the metrics are public', () => {
      expect(refusal(guard)).toBeUndefined();
      expect(refusal(guard, 'Bearer anything')).toBeUndefined();
      guard.onApplicationBootstrap();
      expect(warnings).toHaveBeenCalledWith(expect.stringMatching(/^METRICS_TOKEN is not set: GET \/metrics is open/));
    });
  });
});
