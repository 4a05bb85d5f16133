import { AppConfig } from '@app/common';
import { RunnerImageFamily, RunnerLaunch, RunnerLaunchRequest } from './runner-image-family';

/**
 * An image RunnerHub has no adapter for: the operator states its command (RUNNER_CUSTOM_COMMAND, else the image's
 * own), its user (RUNNER_CUSTOM_USER, else the image's own) and the variable it reads a just-in-time configuration
 * (RUNNER_CUSTOM_JIT_ENV) or a registration token (RUNNER_CUSTOM_TOKEN_ENV) from. The common variables
 * RUNNER_NAME, REPO_URL and LABELS come along, as most runner images read them.
 */
export class CustomRunnerFamily implements RunnerImageFamily {
  readonly name = 'custom' as const;
  readonly acceptsJitConfig: boolean;
  readonly acceptsRegistrationToken: boolean;

  constructor(private readonly settings: AppConfig['runners']['custom']) {
    this.acceptsJitConfig = settings.jitEnv !== undefined;
    this.acceptsRegistrationToken = settings.tokenEnv !== undefined;
  }

  launch({ runner, credentials, runnerUrl }: RunnerLaunchRequest): RunnerLaunch {
    const { command, user, jitEnv, tokenEnv } = this.settings;
    const secret =
      credentials.kind === 'jit' ? { [jitEnv!]: credentials.encodedJitConfig } : { [tokenEnv!]: credentials.token };
    return {
      ...(command ? { command } : {}),
      ...(user ? { user } : {}),
      env: { RUNNER_NAME: runner.name, REPO_URL: runnerUrl, LABELS: runner.labels.join(','), ...secret },
    };
  }

  exitKind() {
    return 'ended' as const;
  }
}
