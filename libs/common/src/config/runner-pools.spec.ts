import { ConfigurationError, loadAppConfig } from './app-config';
import { parseRunnerPools } from './runner-pools';

describe('RUNNER_POOLS', () => {
  it('reads pools with their defaults: labels in lower case, maxIdle at least minIdle, a five-minute idle timeout', () => {
    const config = loadAppConfig({
      RUNNER_POOLS: JSON.stringify([
        { name: 'linux', repository: 'octo/app', labels: ['Self-Hosted', 'linux', 'linux'], minIdle: 2 },
        { name: 'gpu', repository: 'octo/ml', labels: ['gpu'], maxIdle: 3, idleTimeoutMs: 60_000, profile: 'standard' },
      ]),
    });
    expect(config.runners.pools).toEqual([
      {
        name: 'linux',
        scope: 'octo/app',
        labels: ['self-hosted', 'linux'],
        minIdle: 2,
        maxIdle: 2,
        idleTimeoutMs: 300_000,
      },
      {
        name: 'gpu',
        scope: 'octo/ml',
        labels: ['gpu'],
        minIdle: 0,
        maxIdle: 3,
        idleTimeoutMs: 60_000,
        profile: 'standard',
      },
    ]);
    expect(loadAppConfig({}).runners.pools).toEqual([]);
  });

  it('names the pool and the field of every problem, and what to give instead', () => {
    const { pools, problems } = parseRunnerPools(
      JSON.stringify([
        { name: 'Linux!', repository: 'not-a-repo', labels: [], minIdle: 3, maxIdle: 1, colour: 'red' },
        { name: 'ok', organization: 'octo', repository: 'octo/app', labels: ['x'], profile: 'root' },
        { name: 'ok', repository: 'octo/app', labels: ['x'] },
        { name: 'ok', repository: 'octo/app', labels: ['x'] },
      ]),
      'repository',
    );
    expect(pools).toEqual([]);
    expect(problems).toEqual([
      'RUNNER_POOLS[0].colour is not a field of a pool (name, repository, organization, labels, minIdle, maxIdle, idleTimeoutMs, image, profile)',
      'RUNNER_POOLS[0].name must be 1-32 lower-case letters, digits and dashes, starting with a letter or digit',
      'RUNNER_POOLS[0].repository must be the owner/repo its runners register in (RUNNER_SCOPE is repository)',
      'RUNNER_POOLS[0].labels must be a non-empty array of runner labels, such as ["self-hosted", "linux"]',
      'RUNNER_POOLS[0].maxIdle (1) must be at least minIdle (3)',
      'RUNNER_POOLS[1].organization does not apply: RUNNER_SCOPE is repository, so give "repository" instead',
      'RUNNER_POOLS[1].profile must be one of strict, standard, docker',
      'RUNNER_POOLS[3].name "ok" is given twice: each pool needs a name of its own',
    ]);
  });

  it('refuses to start on a broken definition, as every other setting does', () => {
    expect(() => loadAppConfig({ RUNNER_POOLS: '{"name": "x"}' })).toThrow(ConfigurationError);
    expect(() =>
      loadAppConfig({ RUNNER_SCOPE: 'organization', RUNNER_POOLS: '[{"name":"x","repository":"o/r","labels":["a"]}]' }),
    ).toThrow(/organization must be the login of the organisation/);
  });
});
