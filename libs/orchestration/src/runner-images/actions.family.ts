import { RunnerImageFamily, RunnerLaunch, RunnerLaunchRequest } from './runner-image-family';

/**
 * Exit code of a runner whose version GitHub no longer accepts, returned by `run.sh` only when
 * ACTIONS_RUNNER_RETURN_VERSION_DEPRECATED_EXIT_CODE=1 (actions/runner src/Misc/layoutroot/run-helper.sh.template;
 * every other listener code, 1 and unknown ones included, comes out of run.sh as 0).
 */
export const DEPRECATED_VERSION_EXIT_CODE = 7;

/** What RunnerHub adds to the runner's user agent, as actions-runner-controller adds its own. */
export const RUNNER_USER_AGENT = 'runnerhub';

/**
 * The official image, ghcr.io/actions/actions-runner, and images built the same way (what actions-runner-controller
 * runs). Read from actions/runner: images/Dockerfile has no ENTRYPOINT and no CMD of its own (the base image's
 * `bash` exits 0 at once), so the command is always given: `/home/runner/run.sh`. `USER runner` (uid 1001) owns
 * /home/runner, so the image's own user is kept. src/Runner.Listener/CommandSettings.cs turns every
 * ACTIONS_RUNNER_INPUT_<NAME> variable into the argument `--<name>` and removes it from its environment, so secrets
 * never appear on a command line: the JIT configuration goes in ACTIONS_RUNNER_INPUT_JITCONFIG, and on the
 * registration-token path (GitHub Enterprise Server before 3.10) `config.sh` reads URL, token, name and labels the
 * same way. actions-runner-controller's resource builder sets the two extra variables below.
 */
export class ActionsRunnerFamily implements RunnerImageFamily {
  readonly name = 'actions' as const;
  readonly acceptsJitConfig = true;
  readonly acceptsRegistrationToken = true;

  launch({ runner, credentials, runnerUrl }: RunnerLaunchRequest): RunnerLaunch {
    const common = {
      ACTIONS_RUNNER_RETURN_VERSION_DEPRECATED_EXIT_CODE: '1',
      GITHUB_ACTIONS_RUNNER_EXTRA_USER_AGENT: RUNNER_USER_AGENT,
    };
    if (credentials.kind === 'jit') {
      return {
        command: ['/home/runner/run.sh'],
        env: { ...common, ACTIONS_RUNNER_INPUT_JITCONFIG: credentials.encodedJitConfig },
      };
    }
    return {
      // The inputs are dropped before run.sh starts: the listener of `run` must not see a registration token.
      command: [
        'bash',
        '-c',
        './config.sh --unattended --ephemeral --disableupdate --work _work && ' +
          'unset ACTIONS_RUNNER_INPUT_URL ACTIONS_RUNNER_INPUT_TOKEN ACTIONS_RUNNER_INPUT_NAME ACTIONS_RUNNER_INPUT_LABELS && ' +
          'exec ./run.sh',
      ],
      env: {
        ...common,
        ACTIONS_RUNNER_INPUT_URL: runnerUrl,
        ACTIONS_RUNNER_INPUT_TOKEN: credentials.token,
        ACTIONS_RUNNER_INPUT_NAME: runner.name,
        ACTIONS_RUNNER_INPUT_LABELS: runner.labels.join(','),
      },
    };
  }

  exitKind(exitCode: number) {
    return exitCode === DEPRECATED_VERSION_EXIT_CODE ? ('outdated' as const) : ('ended' as const);
  }
}
