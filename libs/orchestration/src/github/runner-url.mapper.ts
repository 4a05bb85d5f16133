import { RunnerScope } from './runner-registration.types';

const GITHUB_DOT_COM = 'https://github.com';

/**
 * The web URL a runner's `config.sh --url` (and images such as myoung34/github-runner, as REPO_URL) expects, derived
 * from the API URL RunnerHub talks to:
 * - api.github.com, and any API URL that is neither of the shapes below (a proxy or a local fake standing in for
 *   github.com), map to https://github.com;
 * - GitHub Enterprise Server serves its API under /api/v3 on the web host: https://ghe.example/api/v3 maps to
 *   https://ghe.example;
 * - GitHub Enterprise Cloud with data residency serves it on an `api.` subdomain: https://api.acme.ghe.com maps to
 *   https://acme.ghe.com.
 */
export function runnerUrlOf(apiUrl: string, scope: RunnerScope): string {
  const path = scope.kind === 'repository' ? `${scope.owner}/${scope.repo}` : scope.org;
  return `${webUrlOf(apiUrl)}/${path}`;
}

function webUrlOf(apiUrl: string): string {
  let url: URL;
  try {
    url = new URL(apiUrl);
  } catch {
    return GITHUB_DOT_COM;
  }
  const path = url.pathname.replace(/\/+$/, '');
  if (/\/api\/v3$/i.test(path)) return `${url.origin}${path.slice(0, -'/api/v3'.length)}`;
  const host = url.hostname.toLowerCase();
  if (host === 'api.github.com') return GITHUB_DOT_COM;
  if (host.startsWith('api.') && host.endsWith('.ghe.com')) {
    return `${url.protocol}//${url.host.slice('api.'.length)}`;
  }
  return GITHUB_DOT_COM;
}
