import { AppConfig, RunnerProfileName } from '@app/common';
import { ContainerConfig, ContainerLimits, SecurityOptions } from '@app/lifecycle';
import { Injectable } from '@nestjs/common';
import { runnerUrlOf } from './github';
import { RunnerImageFamilies } from './runner-images';
import { RegisteredRunner } from './runner-registrations.service';

export interface RunnerContainerRequest {
  config: ContainerConfig;
  limits: ContainerLimits;
  security: SecurityOptions;
}

/**
 * The container of an ephemeral runner: the image family's contract (command, user, the variables its credentials
 * go in), the job's security profile, and the runner limits. A runner's threads count against the pids limit (the
 * .NET listener alone starts dozens), hence RUNNER_PIDS_LIMIT rather than the API's default of 512.
 */
@Injectable()
export class RunnerContainerConfig {
  constructor(
    private readonly config: AppConfig,
    private readonly families: RunnerImageFamilies,
  ) {}

  /** The container of `registered`, a runner that will work for `repository` (null: not known until GitHub hands it a job). */
  build(
    repository: string | null,
    registered: RegisteredRunner,
    image: { ref: string; digest: string | null },
    profile: RunnerProfileName,
  ): RunnerContainerRequest {
    const runnerUrl = runnerUrlOf(this.config.github.apiUrl, registered.scope);
    const launch = this.families.current.launch({
      runner: registered.runner,
      scope: registered.scope,
      credentials: registered.credentials,
      runnerUrl,
      githubHost: githubHostOf(runnerUrl),
    });
    return {
      config: {
        image: image.ref,
        ...(image.digest ? { imageDigest: image.digest } : {}),
        command: launch.command,
        entrypoint: launch.entrypoint,
        user: launch.user,
        env: launch.env,
        ...(repository ? { repository } : {}),
        // The lifecycle labels the container with its job (runnerhub.job) itself: runnerhub.* is never a caller's.
        type: 'ephemeral',
      },
      limits: { ...this.config.orchestration.runnerLimits, pidsLimit: this.config.runners.pidsLimit },
      security: { profile },
    };
  }
}

/** The web host of a GitHub Enterprise Server; null for github.com. */
function githubHostOf(runnerUrl: string): string | null {
  const host = new URL(runnerUrl).host;
  return host === 'github.com' ? null : host;
}
