import { loadAppConfig } from '@app/common';
import { RunnerEntity } from '@app/persistence';
import { RunnerCredentials } from '../github';
import { ActionsRunnerFamily, DEPRECATED_VERSION_EXIT_CODE } from './actions.family';
import { CustomRunnerFamily } from './custom.family';
import { Myoung34RunnerFamily } from './myoung34.family';
import { RunnerImageFamilies } from './runner-image-families';
import { RunnerLaunchRequest } from './runner-image-family';

const runner = { name: 'runnerhub-1234abcd-00ff00', labels: ['self-hosted', 'linux'] } as RunnerEntity;
const jit: RunnerCredentials = { kind: 'jit', githubRunnerId: 7, encodedJitConfig: 'eyJqaXQiOnRydWV9' };
const token: RunnerCredentials = { kind: 'registration-token', token: 'AAAATOKEN', expiresAt: new Date() };

function request(credentials: RunnerCredentials, overrides: Partial<RunnerLaunchRequest> = {}): RunnerLaunchRequest {
  return {
    runner,
    scope: { kind: 'repository', owner: 'acme', repo: 'app' },
    credentials,
    runnerUrl: 'https://github.com/acme/app',
    githubHost: null,
    ...overrides,
  };
}

describe(ActionsRunnerFamily.name, () => {
  const sut = new ActionsRunnerFamily();

  it('runs run.sh as the image user with the JIT config where the listener reads it', () => {
    const launch = sut.launch(request(jit));
    expect(launch).toEqual({
      command: ['/home/runner/run.sh'],
      env: {
        ACTIONS_RUNNER_INPUT_JITCONFIG: 'eyJqaXQiOnRydWV9',
        ACTIONS_RUNNER_RETURN_VERSION_DEPRECATED_EXIT_CODE: '1',
        GITHUB_ACTIONS_RUNNER_EXTRA_USER_AGENT: 'runnerhub',
      },
    });
    expect(launch.user).toBeUndefined();
  });

  it('configures an ephemeral runner with a registration token kept out of the command line', () => {
    const launch = sut.launch(request(token));
    expect(launch.command!.join(' ')).toMatch(/config\.sh --unattended --ephemeral --disableupdate .*exec \.\/run\.sh/);
    expect(launch.command!.join(' ')).not.toContain('AAAATOKEN');
    expect(launch.env).toMatchObject({
      ACTIONS_RUNNER_INPUT_TOKEN: 'AAAATOKEN',
      ACTIONS_RUNNER_INPUT_URL: 'https://github.com/acme/app',
      ACTIONS_RUNNER_INPUT_NAME: runner.name,
      ACTIONS_RUNNER_INPUT_LABELS: 'self-hosted,linux',
    });
  });

  it('reads exit code 7 as a runner too old for GitHub, and anything else as an ordinary end', () => {
    expect(sut.exitKind(DEPRECATED_VERSION_EXIT_CODE)).toBe('outdated');
    for (const code of [0, 1, 2, 3, 4, 137]) expect(sut.exitKind(code)).toBe('ended');
  });
});

describe(Myoung34RunnerFamily.name, () => {
  const sut = new Myoung34RunnerFamily();

  it('runs as the runner user 1001:121 with RUN_AS_ROOT=false and the token variables its entrypoint reads', () => {
    const launch = sut.launch(
      request(token, { scope: { kind: 'organization', org: 'acme' }, githubHost: 'ghe.acme.test' }),
    );
    expect(launch.user).toBe('1001:121');
    expect(launch.command).toBeUndefined();
    expect(launch.env).toEqual({
      RUNNER_NAME: runner.name,
      RUNNER_TOKEN: 'AAAATOKEN',
      REPO_URL: 'https://github.com/acme/app',
      LABELS: 'self-hosted,linux',
      EPHEMERAL: 'true',
      RUN_AS_ROOT: 'false',
      DISABLE_AUTO_UPDATE: '1',
      RUNNER_SCOPE: 'org',
      ORG_NAME: 'acme',
      GITHUB_HOST: 'ghe.acme.test',
    });
  });

  it('takes registration tokens only', () => {
    expect(sut.acceptsJitConfig).toBe(false);
    expect(() => sut.launch(request(jit))).toThrow(/registration tokens only/);
  });
});

describe(CustomRunnerFamily.name, () => {
  it('puts the credential in the variable the operator named, with their command and user', () => {
    const sut = new CustomRunnerFamily({ command: ['/start'], user: '1000', jitEnv: 'MY_JIT' });
    expect(sut.acceptsJitConfig).toBe(true);
    expect(sut.acceptsRegistrationToken).toBe(false);
    expect(sut.launch(request(jit))).toEqual({
      command: ['/start'],
      user: '1000',
      env: {
        RUNNER_NAME: runner.name,
        REPO_URL: 'https://github.com/acme/app',
        LABELS: 'self-hosted,linux',
        MY_JIT: jit.encodedJitConfig,
      },
    });
  });
});

describe(RunnerImageFamilies.name, () => {
  it('makes the family RUNNER_IMAGE_FAMILY names, actions by default', () => {
    expect(new RunnerImageFamilies(loadAppConfig({})).current.name).toBe('actions');
    expect(new RunnerImageFamilies(loadAppConfig({ RUNNER_IMAGE_FAMILY: 'myoung34' })).current.name).toBe('myoung34');
  });
});
