import { RunnerImageFamilyName } from '@app/common';
import { RunnerEntity } from '@app/persistence';
import { RunnerCredentials, RunnerScope } from '../github';

/** What a family needs to know to start one registered runner. */
export interface RunnerLaunchRequest {
  runner: RunnerEntity;
  scope: RunnerScope;
  /** Secrets: they go into `env` and nowhere else. */
  credentials: RunnerCredentials;
  /** The web URL the runner registers at (`config.sh --url`): https://github.com/owner/repo or the GHES host's. */
  runnerUrl: string;
  /** GitHub Enterprise Server's host when RunnerHub talks to one, for images that want it on its own. */
  githubHost: string | null;
}

/** How the runner container is started: the engine's Cmd, Entrypoint, User and the environment. */
export interface RunnerLaunch {
  /** Unset: the image's own CMD. */
  command?: string[];
  /** Unset: the image's own ENTRYPOINT. */
  entrypoint?: string[];
  /** Unset: the image's own USER. */
  user?: string;
  env: Record<string, string>;
}

/** What a runner's exit code says about the runner (never about the job: GitHub says that). */
export type RunnerExitKind =
  /** The runner ended as runners do: after its one job, or refused by GitHub. */
  | 'ended'
  /** The runner's version is too old for GitHub: pull the image again before the next runner. */
  | 'outdated';

/**
 * One kind of runner image and the contract it keeps: the command it must be given, the user it runs as, the
 * variables it reads its credentials from. Everything image-specific lives behind this interface, so nothing else
 * in RunnerHub asks which image it is running.
 */
export interface RunnerImageFamily {
  readonly name: RunnerImageFamilyName;
  /** Whether the image can take a just-in-time configuration (else it must be given a registration token). */
  readonly acceptsJitConfig: boolean;
  /** Whether the image can register itself with a registration token. */
  readonly acceptsRegistrationToken: boolean;
  launch(request: RunnerLaunchRequest): RunnerLaunch;
  exitKind(exitCode: number): RunnerExitKind;
}
