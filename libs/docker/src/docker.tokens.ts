/** Optional overrides of {@link DockerEngineOptions}; see DockerModule.forRoot. */
export const DOCKER_ENGINE_OPTIONS = Symbol('DOCKER_ENGINE_OPTIONS');

/** Optional overrides of {@link EngineEventStreamOptions}; see DockerModule.forRoot. */
export const ENGINE_EVENT_STREAM_OPTIONS = Symbol('ENGINE_EVENT_STREAM_OPTIONS');
