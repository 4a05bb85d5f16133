import { AppConfig, DomainError, EngineSetting, ErrorCode } from '@app/common';
import { Inject, Injectable, Logger, OnModuleDestroy, Optional } from '@nestjs/common';
import { EventEmitter2 } from '@nestjs/event-emitter';
import { Observable, Subject } from 'rxjs';
import { ContainerStatsStreams } from './container-stats.streams';
import { createDockerClient, describeEndpoint } from './docker-client.factory';
import { DockerEngine } from './docker-engine.service';
import { DockerEngineOptions, EngineEventStreamOptions } from './docker-options';
import { DOCKER_ENGINE_OPTIONS, ENGINE_EVENT_STREAM_OPTIONS } from './docker.tokens';
import { ENGINE_CALL_OBSERVER, EngineCallObserver, NO_ENGINE_CALL_OBSERVER } from './engine-call.observer';
import { EngineEventStream } from './engine-event-stream.service';
import { ImagePuller } from './image-puller.service';

/** Everything RunnerHub holds to talk to one engine; made once per engine, never by callers. */
export interface EngineConnection {
  readonly name: string;
  /** In DOCKER_HOST notation, for messages. */
  readonly endpoint: string;
  readonly setting: EngineSetting;
  readonly engine: DockerEngine;
  readonly events: EngineEventStream;
  readonly stats: ContainerStatsStreams;
  readonly images: ImagePuller;
}

/**
 * The fleet's engine clients, by engine name: libs/docker's one door to every engine. It starts with the configured
 * engines (DOCKER_ENGINES, or DOCKER_HOST as `default`); the fleet adds and removes engines at run time (engines added
 * through the API, or by another replica). A container's record names its engine, and every call about it goes
 * through get(thatName), so no part of RunnerHub talks to an engine it did not look up by name.
 */
@Injectable()
export class EngineRegistry implements OnModuleDestroy {
  private readonly logger = new Logger(EngineRegistry.name);
  private readonly connections = new Map<string, EngineConnection>();
  private readonly addedSubject = new Subject<EngineConnection>();
  private readonly removedSubject = new Subject<EngineConnection>();

  /** Each engine added after start (those of the configuration are there from construction: see all()). */
  readonly added$: Observable<EngineConnection> = this.addedSubject.asObservable();
  /** Each engine removed; its event stream and stats streams are already closed. */
  readonly removed$: Observable<EngineConnection> = this.removedSubject.asObservable();

  constructor(
    private readonly config: AppConfig,
    @Optional() @Inject(DOCKER_ENGINE_OPTIONS) private readonly engineOptions?: Partial<DockerEngineOptions>,
    @Optional() @Inject(ENGINE_EVENT_STREAM_OPTIONS) private readonly eventOptions?: Partial<EngineEventStreamOptions>,
    @Optional() @Inject(ENGINE_CALL_OBSERVER) private readonly observer: EngineCallObserver = NO_ENGINE_CALL_OBSERVER,
    @Optional() private readonly emitter?: EventEmitter2,
  ) {
    for (const setting of config.engines) this.connections.set(setting.name, this.connect(setting));
  }

  /** The engine of that name; NOT_FOUND (naming the engines there are) when the fleet has none such. */
  get(name: string): EngineConnection {
    const connection = this.connections.get(name);
    if (connection) return connection;
    throw new DomainError(
      ErrorCode.NotFound,
      `No Docker engine is named "${name}" (engines: ${[...this.connections.keys()].join(', ') || 'none'})`,
      { engine: name },
    );
  }

  find(name: string): EngineConnection | undefined {
    return this.connections.get(name);
  }

  all(): EngineConnection[] {
    return [...this.connections.values()];
  }

  /** The first configured engine: the one DOCKER_HOST names when there is one engine. */
  get first(): EngineConnection {
    return this.get(this.config.engines[0].name);
  }

  /**
   * Adds an engine, or replaces one of the same name whose endpoint changed (its old streams are closed first).
   * Adding an engine that is already there as given does nothing; returns the engine's connection either way.
   */
  add(setting: EngineSetting): EngineConnection {
    const existing = this.connections.get(setting.name);
    if (existing && sameEndpoint(existing.setting, setting)) return existing;
    if (existing) this.remove(setting.name);
    const connection = this.connect(setting);
    this.connections.set(setting.name, connection);
    this.logger.log(`Engine ${setting.name} at ${connection.endpoint} joined the fleet`);
    this.addedSubject.next(connection);
    return connection;
  }

  /**
   * A client for an engine that is not part of the fleet (yet): to ask whether it answers before it is added. Nothing
   * is started for it (no event stream, no stats) and nothing is registered; it is only as good as the call made on it.
   */
  detached(setting: EngineSetting): DockerEngine {
    // Not observed: a candidate's ping is not a call to an engine of the fleet, and its series would outlive a refusal.
    return new DockerEngine(createDockerClient(setting.endpoint), setting, this.engineOptions);
  }

  remove(name: string): void {
    const connection = this.connections.get(name);
    if (!connection) return;
    this.connections.delete(name);
    connection.events.shutDown();
    connection.stats.close();
    this.logger.log(`Engine ${name} at ${connection.endpoint} left the fleet`);
    this.removedSubject.next(connection);
  }

  onModuleDestroy(): void {
    for (const connection of this.connections.values()) {
      connection.events.shutDown();
      connection.stats.close();
    }
    this.addedSubject.complete();
    this.removedSubject.complete();
  }

  private connect(setting: EngineSetting): EngineConnection {
    const client = createDockerClient(setting.endpoint);
    const target = { name: setting.name, endpoint: setting.endpoint };
    return {
      name: setting.name,
      endpoint: describeEndpoint(setting.endpoint),
      setting,
      engine: new DockerEngine(client, target, this.engineOptions, this.observer),
      events: new EngineEventStream(client, target, this.eventOptions),
      stats: new ContainerStatsStreams(client),
      images: new ImagePuller(
        client,
        target,
        this.config.runners?.registryAuth ?? [],
        this.engineOptions,
        this.observer,
        this.emitter,
      ),
    };
  }
}

function sameEndpoint(a: EngineSetting, b: EngineSetting): boolean {
  return JSON.stringify(a.endpoint) === JSON.stringify(b.endpoint);
}
