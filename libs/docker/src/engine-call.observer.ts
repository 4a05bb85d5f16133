import { DomainError } from '@app/common';

/** One finished call of DockerEngine to the engine, as its private `call()` wrapper saw it. */
export interface EngineCallRecord {
  /** The engine's name in the fleet (`default` for DOCKER_HOST alone). */
  engine: string;
  /** The operation's name as DockerEngine gives it (`start container`, `ping`...): a small, fixed set. */
  operation: string;
  /** Wall time of the call, deadline included, in seconds. */
  durationSeconds: number;
  outcome: 'ok' | 'error';
  /** The DomainError code the failure was mapped to (`NOT_FOUND`, `ENGINE_UNAVAILABLE`...); null on success. */
  errorCode: string | null;
}

/**
 * Told of every engine call DockerEngine makes through `call()` (exec keeps its own deadline and is not included).
 * Called synchronously on the engine's path, so it must be quick and must not throw; DockerEngine guards against a
 * throw all the same, so that watching the engine can never break a call to it.
 */
export interface EngineCallObserver {
  engineCallFinished(record: EngineCallRecord): void;
}

/**
 * The injection token of the observer. Optional: with no provider, DockerEngine observes nothing. A provider from a
 * global module (the metrics module exports one) reaches DockerEngine without libs/docker knowing who listens.
 */
export const ENGINE_CALL_OBSERVER = Symbol('ENGINE_CALL_OBSERVER');

/** What DockerEngine uses when nobody observes: nothing at all. */
export const NO_ENGINE_CALL_OBSERVER: EngineCallObserver = { engineCallFinished: () => undefined };

/**
 * Tells the observer how one engine call went. A failing observer is logged and never allowed to fail the call:
 * watching the engine must not break a call to it.
 */
export function reportEngineCall(
  observer: EngineCallObserver,
  logger: { warn(message: string): void },
  engine: string,
  operation: string,
  startedAt: number,
  error: Error | null,
): void {
  try {
    observer.engineCallFinished({
      engine,
      operation,
      durationSeconds: (performance.now() - startedAt) / 1000,
      outcome: error ? 'error' : 'ok',
      errorCode: error ? (error instanceof DomainError ? error.code : 'UNKNOWN') : null,
    });
  } catch (failure) {
    logger.warn(`Engine call observer failed: ${failure instanceof Error ? failure.message : String(failure)}`);
  }
}
