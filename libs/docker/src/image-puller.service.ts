import {
  DomainError,
  ErrorCode,
  EventPublisher,
  ImageEvent,
  ImagePullFailureReason,
  ImagePullPolicy,
  RegistryCredential,
  RunnerHubEventMap,
  RunnerHubEventName,
} from '@app/common';
import { Logger } from '@nestjs/common';
import type { EventEmitter2 } from '@nestjs/event-emitter';
import type Dockerode from 'dockerode';
import { withDeadline } from './deadline';
import { describeEndpoint, EngineTarget } from './docker-client.factory';
import { DEFAULT_DOCKER_ENGINE_OPTIONS, DockerEngineOptions } from './docker-options';
import { EngineCallObserver, NO_ENGINE_CALL_OBSERVER, reportEngineCall } from './engine-call.observer';
import { mapEngineError } from './engine-error.mapper';
import { canonicalReference, DOCKER_HUB, parseImageReference, registryOf, repoDigestFor } from './image-reference';
import { classifyPullFailure, engineTextOf, redact } from './pull-failure';
import { PullProgress, PullStreamReader } from './pull-progress';

/** Progress events and onProgress calls come at most this often for one pull. */
export const PULL_PROGRESS_INTERVAL_MS = 1_000;

const POLICIES: readonly ImagePullPolicy[] = ['if-not-present', 'always', 'never'];

/** Where a pull stands, for onProgress and the image:pull-progress event. */
export interface ImagePullProgress extends PullProgress {
  image: string;
  registry: string;
  /** Since the pull started (a caller that joined a running pull sees the pull's age, not its own wait). */
  elapsedMs: number;
}

export interface EnsureImageOptions {
  /** Called at most about once a second while a pull this call started or joined is under way. Must not throw. */
  onProgress?: (progress: ImagePullProgress) => void;
}

export interface EnsuredImage {
  /** The reference as asked for. */
  image: string;
  /** The engine's image id (`sha256:...`), what a container made from it will record. */
  imageId: string;
  /** The registry's digest of the image for this reference's repository (`sha256:...`); null for a local-only image. */
  digest: string | null;
  /** True when this call started or shared a pull; false when the engine already had the image. */
  pulled: boolean;
  /** This call's own time, shared pull included. */
  durationMs: number;
}

/** One pull in flight, shared by every ensure() of the same image that arrives while it runs. */
interface SharedPull {
  promise: Promise<{ imageId: string; digest: string | null }>;
  listeners: Set<(progress: ImagePullProgress) => void>;
}

/** The part of the engine's image inspect this service reads. */
interface LocalImage {
  Id: string;
  RepoDigests?: string[] | null;
}

/** dockerode's pull with the options its implementation takes and its typings leave out. */
interface PullCall {
  pull(
    image: string,
    options: { abortSignal: AbortSignal; authconfig?: Record<string, string> },
  ): Promise<NodeJS.ReadableStream>;
}

/**
 * Brings images onto the engine. ensure() answers by policy: `if-not-present` pulls only what the engine lacks,
 * `always` pulls every time and never falls back to a local copy when the pull fails (always means fresh: a runner
 * image that cannot be refreshed must not silently run stale), `never` only checks that the image is there.
 *
 * Calls for the same image while its pull runs share that one pull (keyed by the canonical reference, so `ubuntu`
 * and `docker.io/library/ubuntu:latest` share); the sharing ends with the pull, so a later `always` pulls again.
 * Credentials come from config.runners.registryAuth by the reference's registry host and go to the engine as
 * dockerode's `authconfig` (padded URL-safe base64: unpadded credentials are silently dropped by Docker 20.10).
 * They appear in no log, error or event. The pull stream is read to its end: a failure can arrive inside it under
 * HTTP 200. Events go out through EventPublisher when the application has an EventEmitter2 (EventEmitterModule);
 * without one (a bare DockerModule in a test), only onProgress reports.
 */
export class ImagePuller {
  private readonly logger = new Logger(ImagePuller.name);
  /** The engine's name in the fleet: a pull is per engine, as each keeps its own images. */
  readonly engineName: string;
  private readonly endpoint: string;
  private readonly options: DockerEngineOptions;
  private readonly credentials: readonly RegistryCredential[];
  private readonly events: EventPublisher | null;
  private readonly inFlight = new Map<string, SharedPull>();

  constructor(
    private readonly client: Dockerode,
    target: EngineTarget,
    credentials: readonly RegistryCredential[],
    options?: Partial<DockerEngineOptions>,
    private readonly observer: EngineCallObserver = NO_ENGINE_CALL_OBSERVER,
    emitter?: EventEmitter2,
  ) {
    this.engineName = target.name;
    this.endpoint = describeEndpoint(target.endpoint);
    this.options = { ...DEFAULT_DOCKER_ENGINE_OPTIONS, ...options };
    this.credentials = credentials;
    this.events = emitter ? new EventPublisher(emitter) : null;
  }

  /** The registry host an image reference pulls from (`ghcr.io`, `127.0.0.1:5000`, `docker.io`). */
  registryOf(image: string): string {
    return registryOf(image);
  }

  /**
   * Makes sure the engine has `image`, pulling it as `policy` says. Failures: ImageNotFound (policy `never` and the
   * image is missing), ImagePullFailed (details.reason unauthorized / not-found / unreachable / failed), Timeout (the
   * pull outlived pullTimeoutMs), EngineUnavailable (the engine itself did not answer).
   */
  async ensure(image: string, policy: ImagePullPolicy, options: EnsureImageOptions = {}): Promise<EnsuredImage> {
    const startedAt = performance.now();
    if (typeof image !== 'string' || image.trim() === '' || /\s/.test(image)) {
      throw new DomainError(ErrorCode.ValidationFailed, `"${String(image)}" is not an image reference`, { image });
    }
    if (!POLICIES.includes(policy)) {
      throw new DomainError(
        ErrorCode.ValidationFailed,
        `Unknown image pull policy "${String(policy)}": use one of ${POLICIES.join(', ')}`,
        { image, policy },
      );
    }
    const elapsed = () => Math.round(performance.now() - startedAt);

    if (policy !== 'always') {
      const local = await this.inspectLocal(image);
      if (local) {
        return {
          image,
          imageId: local.Id,
          digest: repoDigestFor(image, local.RepoDigests),
          pulled: false,
          durationMs: elapsed(),
        };
      }
      if (policy === 'never') {
        throw new DomainError(
          ErrorCode.ImageNotFound,
          `Image ${image} is not present on the Docker engine at ${this.endpoint}, and the pull policy is "never": ` +
            `load it onto the engine first (docker pull, docker load), or set RUNNER_IMAGE_PULL=if-not-present.`,
          { image, policy, registry: registryOf(image), endpoint: this.endpoint },
        );
      }
    }
    const pulled = await this.sharedPull(image, policy, options.onProgress);
    return { image, ...pulled, pulled: true, durationMs: elapsed() };
  }

  private sharedPull(
    image: string,
    policy: Exclude<ImagePullPolicy, 'never'>,
    onProgress: EnsureImageOptions['onProgress'],
  ): SharedPull['promise'] {
    const key = canonicalReference(image);
    let shared = this.inFlight.get(key);
    if (!shared) {
      const listeners = new Set<(progress: ImagePullProgress) => void>();
      const entry: SharedPull = {
        listeners,
        // The entry goes before the pull's result reaches anyone: whoever asks next starts a fresh pull.
        promise: this.pull(image, policy, listeners).finally(() => {
          if (this.inFlight.get(key) === entry) this.inFlight.delete(key);
        }),
      };
      this.inFlight.set(key, entry);
      shared = entry;
    }
    if (onProgress) shared.listeners.add(onProgress);
    return shared.promise;
  }

  private async pull(
    image: string,
    policy: Exclude<ImagePullPolicy, 'never'>,
    listeners: ReadonlySet<(progress: ImagePullProgress) => void>,
  ): Promise<{ imageId: string; digest: string | null }> {
    const registry = registryOf(image);
    const credential = this.credentialFor(registry);
    const startedAt = performance.now();
    const elapsed = () => Math.round(performance.now() - startedAt);
    const reader = new PullStreamReader();
    let lastReport = startedAt;

    const report = () => {
      const now = performance.now();
      if (now - lastReport < PULL_PROGRESS_INTERVAL_MS) return;
      lastReport = now;
      const progress: ImagePullProgress = { image, registry, ...reader.progress(), elapsedMs: elapsed() };
      this.publish(ImageEvent.PullProgress, { ...progress, at: new Date().toISOString() });
      for (const listener of listeners) {
        try {
          listener(progress);
        } catch (error) {
          this.logger.warn(`An onProgress callback of the pull of ${image} failed: ${(error as Error).message}`);
        }
      }
    };

    this.publish(ImageEvent.Pulling, {
      image,
      registry,
      policy,
      authenticated: credential !== undefined,
      at: new Date().toISOString(),
    });
    this.logger.log(`Pulling ${image} from ${registry}${credential ? ' with credentials from REGISTRY_AUTH' : ''}`);

    try {
      const timeoutMs = this.options.pullTimeoutMs;
      await this.observed('pull image', () =>
        withDeadline(
          timeoutMs,
          async (abortSignal) => {
            try {
              const stream = await (this.client as unknown as PullCall).pull(image, {
                abortSignal,
                ...(credential ? { authconfig: authConfigOf(credential) } : {}),
              });
              for await (const chunk of stream) {
                reader.push(chunk);
                report();
              }
              reader.end();
            } catch (error) {
              throw this.pullError(error, image, registry, credential);
            }
            if (reader.error !== null) throw this.failure(reader.error, image, registry, credential);
          },
          () =>
            new DomainError(
              ErrorCode.Timeout,
              `Pulling image ${image} from ${registry} did not finish within ${timeoutMs} ms ` +
                `(${describeProgress(reader.progress())}); raise the pull deadline or check the link to ${registry}`,
              { image, registry, timeoutMs, operation: 'pull image', endpoint: this.endpoint },
            ),
        ),
      );

      const local = await this.inspectLocal(image);
      if (!local) {
        throw new DomainError(
          ErrorCode.ImagePullFailed,
          `Pulling image ${image} from ${registry} ended without error, but the engine at ${this.endpoint} does not ` +
            `have the image afterwards (last status: ${reader.status ?? 'none'})`,
          { image, registry, reason: 'failed' satisfies ImagePullFailureReason },
        );
      }
      const digest = repoDigestFor(image, local.RepoDigests) ?? reader.digest;
      const { bytesDone } = reader.progress();
      this.publish(ImageEvent.Pulled, {
        image,
        registry,
        imageId: local.Id,
        digest,
        durationMs: elapsed(),
        bytesDownloaded: bytesDone,
        at: new Date().toISOString(),
      });
      this.logger.log(`Pulled ${image} (${digest ?? local.Id}, ${formatBytes(bytesDone)}) in ${elapsed()} ms`);
      return { imageId: local.Id, digest };
    } catch (error) {
      const failure = error instanceof Error ? error : new Error(String(error));
      const domain = failure instanceof DomainError ? failure : null;
      const reason =
        domain?.code === ErrorCode.ImagePullFailed ? (domain.details?.reason as ImagePullFailureReason) : null;
      this.publish(ImageEvent.PullFailed, {
        image,
        registry,
        code: domain?.code ?? 'UNKNOWN',
        reason: reason ?? null,
        message: failure.message,
        durationMs: elapsed(),
        at: new Date().toISOString(),
      });
      this.logger.warn(failure.message);
      throw failure;
    }
  }

  /** The credential for a registry host; none for a registry REGISTRY_AUTH does not name. */
  private credentialFor(registry: string): RegistryCredential | undefined {
    return this.credentials.find((credential) => credential.registry.toLowerCase() === registry);
  }

  /** What the pull call threw: the engine's HTTP errors are registry answers; a dead socket is the engine's. */
  private pullError(error: unknown, image: string, registry: string, credential?: RegistryCredential): Error {
    if (error instanceof DomainError) return error;
    const status = (error as { statusCode?: unknown } | null)?.statusCode;
    const text = (error as { message?: unknown } | null)?.message;
    if (typeof status === 'number' && typeof text === 'string') {
      return this.failure(engineTextOf(text), image, registry, credential, status);
    }
    return mapEngineError(error, { endpoint: this.endpoint, operation: 'pull image', image });
  }

  /** IMAGE_PULL_FAILED from the engine's text, with what the operator should look at. */
  private failure(
    text: string,
    image: string,
    registry: string,
    credential: RegistryCredential | undefined,
    statusCode?: number,
  ): DomainError {
    const answer = redact(text, credential ? [credential.password] : []);
    const reason = classifyPullFailure(answer);
    const source = reason === 'unreachable' ? 'The engine reported' : 'The registry answered';
    const message =
      `Pulling image ${image} from ${registry} failed (${reason}): ` +
      `${hintFor(reason, image, registry, credential)}. ${source}: ${answer}`;
    return new DomainError(ErrorCode.ImagePullFailed, message, {
      image,
      registry,
      reason,
      engineMessage: answer,
      authenticated: credential !== undefined,
      ...(statusCode !== undefined ? { statusCode } : {}),
    });
  }

  private async inspectLocal(image: string): Promise<LocalImage | null> {
    return this.observed('inspect image', () =>
      withDeadline(
        this.options.controlTimeoutMs,
        async () => {
          // dockerode's image inspect takes no abort signal: on a hang the deadline still answers.
          try {
            const inspected: LocalImage = await this.client.getImage(image).inspect();
            return inspected;
          } catch (error) {
            if ((error as { statusCode?: unknown } | null)?.statusCode === 404) return null;
            throw mapEngineError(error, { endpoint: this.endpoint, operation: 'inspect image', image });
          }
        },
        () =>
          new DomainError(
            ErrorCode.EngineUnavailable,
            `Docker engine at ${this.endpoint} did not answer inspect image within ${this.options.controlTimeoutMs} ms`,
            { endpoint: this.endpoint, operation: 'inspect image', timeoutMs: this.options.controlTimeoutMs, image },
          ),
      ),
    );
  }

  /** Runs an engine call and tells the observer (metrics) how it went, as DockerEngine does for its own calls. */
  private async observed<T>(operation: string, work: () => Promise<T>): Promise<T> {
    const startedAt = performance.now();
    let failure: Error | null = null;
    try {
      return await work();
    } catch (error) {
      failure = error instanceof Error ? error : new Error(String(error));
      throw error;
    } finally {
      reportEngineCall(this.observer, this.logger, this.engineName, operation, startedAt, failure);
    }
  }

  private publish<K extends RunnerHubEventName>(name: K, payload: RunnerHubEventMap[K]): void {
    this.events?.publish(name, payload);
  }
}

/** The engine's AuthConfig. serveraddress is informative for a pull; Docker Hub's is the CLI's historic URL. */
function authConfigOf(credential: RegistryCredential): Record<string, string> {
  return {
    username: credential.username,
    password: credential.password,
    serveraddress: credential.registry === DOCKER_HUB ? 'https://index.docker.io/v1/' : credential.registry,
  };
}

function hintFor(
  reason: ImagePullFailureReason,
  image: string,
  registry: string,
  credential: RegistryCredential | undefined,
): string {
  switch (reason) {
    case 'unauthorized':
      return credential
        ? `${registry} refused the credentials REGISTRY_AUTH gives for it (or they do not grant access to this image)`
        : `${registry} wants credentials and REGISTRY_AUTH has none for it`;
    case 'not-found': {
      const { repository, tag, digest } = parseImageReference(image);
      return `${registry} has no ${repository} ${digest ? `with digest ${digest}` : `with tag ${tag}`}`;
    }
    case 'unreachable':
      return `the Docker engine could not reach ${registry}`;
    default:
      return 'the engine reported an error';
  }
}

function describeProgress({ layersDone, layersTotal, bytesDone, bytesTotal }: PullProgress): string {
  if (layersTotal === 0) return 'no layer had started';
  const bytes =
    bytesTotal !== null ? `${formatBytes(bytesDone)} of ${formatBytes(bytesTotal)}` : formatBytes(bytesDone);
  return `${layersDone} of ${layersTotal} layers, ${bytes} downloaded`;
}

function formatBytes(bytes: number): string {
  if (bytes < 1024 * 1024) return `${Math.round(bytes / 1024)} kB`;
  return `${(bytes / (1024 * 1024)).toFixed(1)} MB`;
}
