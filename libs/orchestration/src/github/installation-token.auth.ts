import { AppConfig, DomainError, ErrorCode } from '@app/common';
import { createAppAuth } from '@octokit/auth-app';
import { Octokit } from '@octokit/rest';
import { isGitHubHttpError, toGitHubError } from './github-error.translator';
import { InstallationToken, InstallationTokenCache } from './installation-token.cache';
import { redactSecrets } from './secret.redactor';

type GitHubAppSettings = NonNullable<AppConfig['github']['app']>;

/**
 * Makes every call of `octokit` authenticate as the GitHub App's installation, with a token from
 * {@link InstallationTokenCache}.
 *
 * @octokit/auth-app signs the App's JWT and exchanges it for an installation token; its own Octokit hook
 * (`authStrategy: createAppAuth`) is deliberately not used, because in auth-app 6 that hook:
 * - caches tokens for a fixed 59 minutes, whatever `expires_at` says (hence our cache);
 * - retries a 401 for up to about 5 s after a token was issued (waits of 1 s, 2 s, ...), a retry of its own that
 *   would stretch a call far past its deadline, where RunnerHub wants every failure to reach its job retries.
 * The exchange itself goes through `octokit.request`, so it gets the same base URL, headers and deadline as every
 * other call; it carries its JWT in `authorization` already, which is how the wrapper below tells it apart.
 */
export function authenticateAsInstallation(
  octokit: Octokit,
  app: GitHubAppSettings,
  options: { refreshMarginMs: number; credentialsHint: string },
): InstallationTokenCache {
  const appAuth = createAppAuth({
    appId: app.appId,
    privateKey: app.privateKey,
    installationId: app.installationId,
    request: octokit.request,
    log: octokit.log,
  });
  const operation = `the installation token of GitHub App ${app.appId} (installation ${app.installationId})`;
  const details = { appId: app.appId, installationId: app.installationId };

  async function issue(): Promise<InstallationToken> {
    let authentication: { token: string; expiresAt: string };
    try {
      authentication = await appAuth({ type: 'installation', refresh: true });
    } catch (error) {
      if (isGitHubHttpError(error) || error instanceof DomainError) {
        throw toGitHubError(error, {
          operation,
          credentialsHint: options.credentialsHint,
          secrets: [app.privateKey],
          details,
        });
      }
      // Not an answer from GitHub: the JWT could not be signed, which only a different key can fix.
      const why = redactSecrets(error instanceof Error ? error.message : String(error), [app.privateKey]);
      throw new DomainError(
        ErrorCode.GitHubNotConfigured,
        `The GitHub App's private key (GITHUB_APP_PRIVATE_KEY) could not sign a JWT: ${why}`,
        details,
      );
    }
    const expiresAt = Date.parse(authentication.expiresAt);
    if (typeof authentication.token !== 'string' || authentication.token === '' || !Number.isFinite(expiresAt)) {
      throw new DomainError(
        ErrorCode.GitHubUnavailable,
        `GitHub answered ${operation} without a token and its expiry`,
        details,
      );
    }
    return { token: authentication.token, expiresAt };
  }

  const tokens = new InstallationTokenCache(issue, options.refreshMarginMs);
  octokit.hook.wrap('request', async (request, requestOptions) => {
    if (requestOptions.headers.authorization) return request(requestOptions);
    const token = await tokens.token();
    requestOptions.headers.authorization = `token ${token}`;
    try {
      return await request(requestOptions);
    } catch (error) {
      // Revoked, or the installation was suspended: the next call starts with a new token instead of this one.
      if (isGitHubHttpError(error) && error.response?.status === 401) tokens.discard(token);
      throw error;
    }
  });
  return tokens;
}
