import { AppConfig } from '@app/common';

type GitHubSettings = AppConfig['github'];

/** Which credentials RunnerHub talks to GitHub with; the App wins when both are set (its tokens live an hour). */
export type GitHubCredentialsKind = 'app' | 'token' | 'none';

export function credentialsKindOf(github: GitHubSettings): GitHubCredentialsKind {
  if (github.app) return 'app';
  return github.token ? 'token' : 'none';
}

/** What an operator should check when GitHub answers 401, in the words of the variables they set. */
export function credentialsHintOf(github: GitHubSettings): string {
  switch (credentialsKindOf(github)) {
    case 'app':
      return 'check GITHUB_APP_ID, GITHUB_APP_PRIVATE_KEY and GITHUB_APP_INSTALLATION_ID';
    case 'token':
      return 'check that GITHUB_TOKEN is valid and has not expired';
    case 'none':
      return 'set GITHUB_TOKEN, or GITHUB_APP_ID with GITHUB_APP_PRIVATE_KEY and GITHUB_APP_INSTALLATION_ID';
  }
}

/** The configured secrets, removed from any text quoted back from GitHub (see redactSecrets). */
export function configuredSecretsOf(github: GitHubSettings): string[] {
  return [github.token, github.app?.privateKey, github.webhookSecret].filter((s): s is string => Boolean(s));
}
