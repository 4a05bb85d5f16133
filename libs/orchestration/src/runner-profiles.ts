import { AppConfig, RunnerProfileName } from '@app/common';
import { Injectable } from '@nestjs/common';

export interface ProfileChoice {
  profile: RunnerProfileName;
  /** Why, in words an operator can check against the configuration. */
  reason: string;
}

/** How loose each profile is: when a job's labels name several, the loosest wins (it asked for that much). */
const LOOSENESS: Readonly<Record<RunnerProfileName, number>> = { strict: 0, standard: 1, docker: 2 };

/**
 * Which security profile a job's runner gets, from RUNNER_PROFILES (runner label to profile, e.g. `docker:docker,
 * sudo:standard`) and RUNNER_DEFAULT_PROFILE. A job gets a looser profile only by asking for a label the operator
 * tied to it, so loosening is always the operator's decision.
 */
@Injectable()
export class RunnerProfiles {
  constructor(private readonly config: AppConfig) {}

  choose(labels: readonly string[]): ProfileChoice {
    const { profilesByLabel, defaultProfile } = this.config.runners;
    let choice: ProfileChoice = { profile: defaultProfile, reason: `the default profile (RUNNER_DEFAULT_PROFILE)` };
    for (const label of labels) {
      const profile = profilesByLabel[label.toLowerCase()];
      if (profile && LOOSENESS[profile] > LOOSENESS[choice.profile]) {
        choice = { profile, reason: `label ${label} maps to ${profile} (RUNNER_PROFILES)` };
      }
    }
    return choice;
  }
}
