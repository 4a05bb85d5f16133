import { AppConfig, errorMessage } from '@app/common';
import { ImagePuller } from '@app/docker';
import { Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';

/**
 * Pulls the default runner image once at start, in the background, so that a fresh host's first job does not wait
 * for a gigabyte to arrive. A job that comes meanwhile joins the same pull (ImagePuller shares one pull per image).
 */
@Injectable()
export class RunnerImageWarmup implements OnApplicationBootstrap {
  private readonly logger = new Logger(RunnerImageWarmup.name);

  constructor(
    private readonly config: AppConfig,
    private readonly images: ImagePuller,
  ) {}

  onApplicationBootstrap(): void {
    const { prepull, pullPolicy } = this.config.runners;
    if (!prepull || pullPolicy === 'never') return;
    const image = this.config.runnerImage;
    void this.images.ensure(image, pullPolicy).then(
      (ready) =>
        this.logger.log(`Runner image ${image} ready${ready.pulled ? ` (pulled in ${ready.durationMs} ms)` : ''}`),
      (error: unknown) =>
        this.logger.warn(
          `Runner image ${image} could not be pulled at start: ${errorMessage(error)}; jobs will try again`,
        ),
    );
  }
}
