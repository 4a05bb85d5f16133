import { DomainError, ErrorCode } from '@app/common';
import { GitHubHttpError, messageOf, toGitHubError } from './github-error.translator';

/** An error in the shape of Octokit's RequestError. */
function httpError(
  status: number,
  data?: unknown,
  headers: Record<string, string> = {},
  message = 'request failed',
): GitHubHttpError {
  const error = new Error(message) as GitHubHttpError;
  error.name = 'HttpError';
  error.status = status;
  if (data !== undefined) error.response = { status, headers, data };
  return error;
}

const context = {
  operation: 'the runner registration for octo-org/app',
  credentialsHint: 'check GITHUB_TOKEN',
  secrets: ['ghp_configuredToken0123456789'],
  details: { scope: 'octo-org/app' },
};

function translate(error: unknown): DomainError {
  const result = toGitHubError(error, context);
  if (!(result instanceof DomainError)) throw new Error(`not a DomainError: ${String(result)}`);
  return result;
}

describe(toGitHubError.name, () => {
  it("refuses with GitHub's words on a 4xx, and the credentials hint on a 401", () => {
    expect(translate(httpError(403, { message: 'Resource not accessible by integration' }))).toMatchObject({
      code: ErrorCode.GitHubRejected,
      message: 'GitHub refused the runner registration for octo-org/app: 403 Resource not accessible by integration',
      details: { scope: 'octo-org/app', status: 403, githubMessage: 'Resource not accessible by integration' },
    });
    expect(translate(httpError(401, { message: 'Bad credentials' })).message).toBe(
      'GitHub refused the runner registration for octo-org/app: 401 Bad credentials (check GITHUB_TOKEN)',
    );
  });

  it('reports a 5xx as unavailable, naming the status even without a body', () => {
    expect(translate(httpError(502, ''))).toMatchObject({
      code: ErrorCode.GitHubUnavailable,
      message: 'GitHub failed the runner registration for octo-org/app: 502 Bad Gateway',
    });
  });

  it('reports no answer at all as unavailable, with the reason', () => {
    expect(translate(httpError(500, undefined, {}, 'no answer within 300 ms'))).toMatchObject({
      code: ErrorCode.GitHubUnavailable,
      message: 'GitHub did not answer the runner registration for octo-org/app: no answer within 300 ms',
    });
  });

  it.each([
    ['429', httpError(429, { message: 'Too many' })],
    ['403 with no requests left', httpError(403, { message: 'Forbidden' }, { 'x-ratelimit-remaining': '0' })],
    ['403 with retry-after', httpError(403, { message: 'Forbidden' }, { 'retry-after': '60' })],
    ['403 secondary limit', httpError(403, { message: 'You have exceeded a secondary rate limit.' })],
  ])('takes a rate limit (%s) as unavailable, not refused', (_what, error) => {
    expect(translate(error).code).toBe(ErrorCode.GitHubUnavailable);
  });

  it('adds the reasons GitHub lists for a 422, and the request id', () => {
    const error = translate(
      httpError(
        422,
        {
          message: 'Validation Failed',
          errors: [{ resource: 'Runner', field: 'labels', code: 'invalid' }, 'name is taken'],
        },
        { 'x-github-request-id': 'ABCD:1234' },
      ),
    );
    expect(error.message).toBe(
      'GitHub refused the runner registration for octo-org/app: 422 Validation Failed (labels invalid; name is taken)',
    );
    expect(error.details).toMatchObject({ githubRequestId: 'ABCD:1234' });
  });

  it('never quotes a secret GitHub echoes, known or by its shape', () => {
    const error = translate(
      httpError(403, { message: 'token ghp_configuredToken0123456789 and ghs_0123456789abcdefghijklmnop rejected' }),
    );
    expect(error.message).not.toMatch(/ghp_|ghs_/);
    expect(JSON.stringify(error.details)).not.toMatch(/ghp_|ghs_/);
  });

  it('passes DomainErrors and errors that are not GitHub answers through unchanged', () => {
    const domain = new DomainError(ErrorCode.GitHubNotConfigured, 'no credentials');
    const bug = new TypeError('x is undefined');
    expect(toGitHubError(domain, context)).toBe(domain);
    expect(toGitHubError(bug, context)).toBe(bug);
  });
});

describe(messageOf.name, () => {
  it('keeps a long message readable: one line, bounded', () => {
    const text = messageOf(400, { message: `line one\n${'x'.repeat(1000)}` });
    expect(text).not.toContain('\n');
    expect(text.length).toBeLessThanOrEqual(303);
  });

  it('uses a plain-text body, or the status name when there is nothing else', () => {
    expect(messageOf(503, 'upstream connect error')).toBe('upstream connect error');
    expect(messageOf(404, undefined)).toBe('Not Found');
  });
});
