import { AppConfig } from '@app/common';
import { DynamicModule, Module, Provider } from '@nestjs/common';
import { ContainerStatsStreams } from './container-stats.streams';
import { createDockerClient } from './docker-client.factory';
import { DockerEngine } from './docker-engine.service';
import { DockerEngineOptions, EngineEventStreamOptions } from './docker-options';
import { DOCKER_CLIENT, DOCKER_ENGINE_OPTIONS, ENGINE_EVENT_STREAM_OPTIONS } from './docker.tokens';
import { EngineEventStream } from './engine-event-stream.service';
import { ImagePuller } from './image-puller.service';

const clientProvider: Provider = {
  provide: DOCKER_CLIENT,
  useFactory: (config: AppConfig) => createDockerClient(config.docker),
  inject: [AppConfig],
};

export interface DockerModuleOptions {
  engine?: Partial<DockerEngineOptions>;
  events?: Partial<EngineEventStreamOptions>;
}

/**
 * The engine client and the services that use it. AppConfig must be provided globally (AppConfigModule does);
 * the engine is found through config.docker. Import DockerModule as is for the defaults, or DockerModule.forRoot()
 * once to tune deadlines, back-off or the event label filter; one application uses one of the two, not both, or it
 * gets two clients. DockerEngine reports each engine call to an ENGINE_CALL_OBSERVER when a global module provides
 * one (the metrics do); this module provides none, so that libs/docker depends on no metrics library. ImagePuller
 * publishes image events when the application imports EventEmitterModule, and reports through onProgress only
 * without it.
 */
@Module({
  providers: [clientProvider, DockerEngine, EngineEventStream, ContainerStatsStreams, ImagePuller],
  exports: [DockerEngine, EngineEventStream, ContainerStatsStreams, ImagePuller],
})
export class DockerModule {
  static forRoot(options: DockerModuleOptions = {}): DynamicModule {
    return {
      module: DockerModule,
      providers: [
        { provide: DOCKER_ENGINE_OPTIONS, useValue: options.engine ?? {} },
        { provide: ENGINE_EVENT_STREAM_OPTIONS, useValue: options.events ?? {} },
      ],
    };
  }
}
