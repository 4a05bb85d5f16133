import { AppConfig } from '@app/common';
import { Logger } from '@nestjs/common';
import { Octokit } from '@octokit/rest';
import { configuredSecretsOf, credentialsHintOf, credentialsKindOf } from './github-credentials.settings';
import { fetchWithDeadline } from './github-deadline.fetch';
import { DEFAULT_TOKEN_REFRESH_MARGIN_MS } from './installation-token.cache';
import { authenticateAsInstallation } from './installation-token.auth';
import { redactSecrets } from './secret.redactor';

/** Injection token of the process's one Octokit client. */
export const GITHUB_CLIENT = Symbol('GITHUB_CLIENT');
/** Injection token of how long before expiry an installation token is replaced (tests shorten it). */
export const TOKEN_REFRESH_MARGIN_MS = Symbol('TOKEN_REFRESH_MARGIN_MS');

/** The REST API version RunnerHub is written against; GitHub answers in that version's shapes. */
export const GITHUB_API_VERSION = '2022-11-28';
export const USER_AGENT = 'runnerhub';

/**
 * Builds the Octokit client every GitHub call goes through, configured once:
 * - base URL from GITHUB_API_URL (github.com or a GitHub Enterprise Server's /api/v3);
 * - a deadline of GITHUB_TIMEOUT_MS on every HTTP exchange (see fetchWithDeadline): Octokit 20 has no timeout
 *   option of its own;
 * - no retries and no throttling: @octokit/rest 20 bundles neither plugin, and none is added, because a failed
 *   registration is retried by the job's own retry policy, with back-off, and must fail within its deadline;
 * - the API version header and a `runnerhub` user agent (Octokit appends its own product tokens after it);
 * - Octokit's log routed to Nest's, except `debug`: plugin-request-log logs each request's full options there,
 *   Authorization header included.
 */
export function createGitHubClient(github: AppConfig['github'], options: { refreshMarginMs?: number } = {}): Octokit {
  const logger = new Logger('GitHubClient');
  const secrets = configuredSecretsOf(github);
  const kind = credentialsKindOf(github);
  const log = {
    debug: () => undefined,
    info: (message: string) => logger.debug(redactSecrets(message, secrets)),
    warn: (message: string) => logger.warn(redactSecrets(message, secrets)),
    error: (message: string) => logger.error(redactSecrets(message, secrets)),
  };
  const octokit = new Octokit({
    baseUrl: github.apiUrl,
    userAgent: USER_AGENT,
    ...(kind === 'token' ? { auth: github.token } : {}),
    // `request.log` is where @octokit/request reports deprecated endpoints; without it they go to the console.
    request: { fetch: fetchWithDeadline(github.timeoutMs), log },
    log,
  });
  octokit.hook.before('request', (requestOptions) => {
    requestOptions.headers['x-github-api-version'] = GITHUB_API_VERSION;
  });
  if (kind === 'app' && github.app) {
    authenticateAsInstallation(octokit, github.app, {
      refreshMarginMs: options.refreshMarginMs ?? DEFAULT_TOKEN_REFRESH_MARGIN_MS,
      credentialsHint: credentialsHintOf(github),
    });
  }
  return octokit;
}
