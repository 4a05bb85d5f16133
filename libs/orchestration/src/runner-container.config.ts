import { AppConfig, RunnerHubLabel } from '@app/common';
import { ContainerConfig, ContainerLimits } from '@app/lifecycle';
import { JobEntity } from '@app/persistence';
import { Injectable } from '@nestjs/common';
import { runnerUrlOf } from './github';
import { RegisteredRunner } from './runner-registrations.service';

/**
 * The container of an ephemeral runner, in the environment the common runner images read (myoung34/github-runner
 * and images like it): RUNNER_NAME, REPO_URL, LABELS, EPHEMERAL, and either RUNNER_JITCONFIG (a just-in-time
 * configuration, for `run.sh --jitconfig`) or RUNNER_TOKEN (a registration token, for `config.sh --token`).
 */
@Injectable()
export class RunnerContainerConfig {
  constructor(private readonly config: AppConfig) {}

  build(
    job: JobEntity,
    { runner, scope, credentials }: RegisteredRunner,
  ): { config: ContainerConfig; limits: ContainerLimits } {
    const env: Record<string, string> = {
      RUNNER_NAME: runner.name,
      REPO_URL: runnerUrlOf(this.config.github.apiUrl, scope),
      LABELS: runner.labels.join(','),
      EPHEMERAL: 'true',
      RUNNER_SCOPE: scope.kind === 'organization' ? 'org' : 'repo',
      ...(scope.kind === 'organization' ? { ORG_NAME: scope.org } : {}),
      ...(credentials.kind === 'jit'
        ? { RUNNER_JITCONFIG: credentials.encodedJitConfig }
        : { RUNNER_TOKEN: credentials.token }),
    };
    return {
      config: {
        image: job.image ?? this.config.runnerImage,
        env,
        repository: job.repository,
        type: 'ephemeral',
        labels: { [RunnerHubLabel.Job]: job.id },
      },
      limits: { ...this.config.orchestration.runnerLimits },
    };
  }
}
