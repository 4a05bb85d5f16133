import { AppConfig, errorMessage } from '@app/common';
import { EngineConnection, EngineRegistry } from '@app/docker';
import { Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { Subscription } from 'rxjs';

/**
 * Pulls the default runner image once at start on every engine, in the background, so that a fresh host's first job
 * does not wait for a gigabyte to arrive; an engine that joins the fleet later gets it as it joins. A job that comes
 * meanwhile joins the same pull (ImagePuller shares one pull per image and engine).
 */
@Injectable()
export class RunnerImageWarmup implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(RunnerImageWarmup.name);
  private subscription?: Subscription;

  constructor(
    private readonly config: AppConfig,
    private readonly engines: EngineRegistry,
  ) {}

  onApplicationBootstrap(): void {
    const { prepull, pullPolicy } = this.config.runners;
    if (!prepull || pullPolicy === 'never') return;
    for (const connection of this.engines.all()) this.warm(connection);
    this.subscription = this.engines.added$.subscribe((connection) => this.warm(connection));
  }

  onApplicationShutdown(): void {
    this.subscription?.unsubscribe();
  }

  private warm({ name, images }: EngineConnection): void {
    const image = this.config.runnerImage;
    void images.ensure(image, this.config.runners.pullPolicy).then(
      (ready) =>
        this.logger.log(
          `Runner image ${image} ready on engine ${name}${ready.pulled ? ` (pulled in ${ready.durationMs} ms)` : ''}`,
        ),
      (error: unknown) =>
        this.logger.warn(
          `Runner image ${image} could not be pulled on engine ${name} at start: ${errorMessage(error)}; ` +
            'jobs will try again',
        ),
    );
  }
}
