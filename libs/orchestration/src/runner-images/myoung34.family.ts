import { RunnerImageFamily, RunnerLaunch, RunnerLaunchRequest } from './runner-image-family';

/**
 * myoung34/github-runner, read from myoung34/docker-github-actions-runner (entrypoint.sh, Dockerfile,
 * build/install_base.sh). It has no just-in-time support: it always runs `config.sh --token $RUNNER_TOKEN`, so it
 * gets a registration token. Its image has no USER and defaults to RUN_AS_ROOT=true, which under CapDrop ALL cannot
 * write its own install directory (owned by uid 1001), and RUN_AS_ROOT=false as root needs chown and gosu (CHOWN,
 * SETUID, SETGID): the one way it runs locked down is as the runner's own uid 1001, group docker (121), with
 * RUN_AS_ROOT=false; its ENTRYPOINT and CMD are then kept as they are. DISABLE_AUTO_UPDATE keeps an old runner from
 * downloading a new one mid-job; GITHUB_HOST tells it a GitHub Enterprise Server's host for organisation runners.
 */
export class Myoung34RunnerFamily implements RunnerImageFamily {
  readonly name = 'myoung34' as const;
  readonly acceptsJitConfig = false;
  readonly acceptsRegistrationToken = true;

  launch({ runner, scope, credentials, runnerUrl, githubHost }: RunnerLaunchRequest): RunnerLaunch {
    if (credentials.kind !== 'registration-token') {
      throw new Error('myoung34/github-runner takes registration tokens only');
    }
    return {
      user: '1001:121',
      env: {
        RUNNER_NAME: runner.name,
        RUNNER_TOKEN: credentials.token,
        REPO_URL: runnerUrl,
        LABELS: runner.labels.join(','),
        EPHEMERAL: 'true',
        RUN_AS_ROOT: 'false',
        DISABLE_AUTO_UPDATE: '1',
        RUNNER_SCOPE: scope.kind === 'organization' ? 'org' : 'repo',
        ...(scope.kind === 'organization' ? { ORG_NAME: scope.org } : {}),
        ...(githubHost ? { GITHUB_HOST: githubHost } : {}),
      },
    };
  }

  exitKind() {
    return 'ended' as const;
  }
}
