import { DynamicModule, Module, Provider } from '@nestjs/common';
import { ContainerStatsStreams } from './container-stats.streams';
import { DockerEngine } from './docker-engine.service';
import { DockerEngineOptions, EngineEventStreamOptions } from './docker-options';
import { DOCKER_ENGINE_OPTIONS, ENGINE_EVENT_STREAM_OPTIONS } from './docker.tokens';
import { EngineEventStream } from './engine-event-stream.service';
import { EngineRegistry } from './engine-registry';
import { ImagePuller } from './image-puller.service';

/**
 * The first engine's parts under their own names, for tools and tests that drive one engine. RunnerHub's own modules
 * never inject these: they look each container's engine up in the EngineRegistry.
 */
const FIRST_ENGINE_PROVIDERS: Provider[] = [
  { provide: DockerEngine, inject: [EngineRegistry], useFactory: (engines: EngineRegistry) => engines.first.engine },
  {
    provide: EngineEventStream,
    inject: [EngineRegistry],
    useFactory: (engines: EngineRegistry) => engines.first.events,
  },
  {
    provide: ContainerStatsStreams,
    inject: [EngineRegistry],
    useFactory: (engines: EngineRegistry) => engines.first.stats,
  },
  { provide: ImagePuller, inject: [EngineRegistry], useFactory: (engines: EngineRegistry) => engines.first.images },
];

export interface DockerModuleOptions {
  engine?: Partial<DockerEngineOptions>;
  events?: Partial<EngineEventStreamOptions>;
}

/**
 * The engine clients. AppConfig must be provided globally (AppConfigModule does); the engines are found through
 * config.engines. Import DockerModule as is for the defaults, or DockerModule.forRoot() once to tune deadlines,
 * back-off or the event label filter; one application uses one of the two, not both, or it gets two registries.
 * DockerEngine reports each engine call to an ENGINE_CALL_OBSERVER when a global module provides one (the metrics
 * do); this module provides none, so that libs/docker depends on no metrics library. ImagePuller publishes image
 * events when the application imports EventEmitterModule, and reports through onProgress only without it.
 */
@Module({
  providers: [EngineRegistry, ...FIRST_ENGINE_PROVIDERS],
  exports: [EngineRegistry, DockerEngine, EngineEventStream, ContainerStatsStreams, ImagePuller],
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
