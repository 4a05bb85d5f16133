import { runnerUrlOf } from './runner-url.mapper';

describe(runnerUrlOf.name, () => {
  const repo = { kind: 'repository', owner: 'octo-org', repo: 'app' } as const;
  const org = { kind: 'organization', org: 'octo-org' } as const;

  it('maps api.github.com to github.com, for repositories and organisations', () => {
    expect(runnerUrlOf('https://api.github.com', repo)).toBe('https://github.com/octo-org/app');
    expect(runnerUrlOf('https://api.github.com/', org)).toBe('https://github.com/octo-org');
  });

  it('maps a GitHub Enterprise Server API (/api/v3) to its web host, keeping any path prefix and port', () => {
    expect(runnerUrlOf('https://ghe.example/api/v3', repo)).toBe('https://ghe.example/octo-org/app');
    expect(runnerUrlOf('https://ghe.example:8443/github/api/v3/', org)).toBe(
      'https://ghe.example:8443/github/octo-org',
    );
  });

  it('maps a GitHub Enterprise Cloud API (api.<name>.ghe.com) to <name>.ghe.com', () => {
    expect(runnerUrlOf('https://api.acme.ghe.com', repo)).toBe('https://acme.ghe.com/octo-org/app');
  });

  it('takes any other API URL (a proxy, a local fake) as standing in for github.com', () => {
    expect(runnerUrlOf('http://127.0.0.1:43210', repo)).toBe('https://github.com/octo-org/app');
    expect(runnerUrlOf('not a url', org)).toBe('https://github.com/octo-org');
  });
});
