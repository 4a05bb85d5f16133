import { AppConfig, RunnerImageFamilyName } from '@app/common';
import { Injectable } from '@nestjs/common';
import { ActionsRunnerFamily } from './actions.family';
import { CustomRunnerFamily } from './custom.family';
import { Myoung34RunnerFamily } from './myoung34.family';
import { RunnerImageFamily } from './runner-image-family';

/** The runner image family RUNNER_IMAGE_FAMILY names, made once. */
@Injectable()
export class RunnerImageFamilies {
  readonly current: RunnerImageFamily;

  constructor(config: AppConfig) {
    this.current = familyOf(config.runners.family, config);
  }
}

function familyOf(name: RunnerImageFamilyName, config: AppConfig): RunnerImageFamily {
  switch (name) {
    case 'actions':
      return new ActionsRunnerFamily();
    case 'myoung34':
      return new Myoung34RunnerFamily();
    case 'custom':
      return new CustomRunnerFamily(config.runners.custom);
  }
}
