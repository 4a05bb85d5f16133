import { AppConfig, ErrorCode, ImageEvent } from '@app/common';
import { Logger } from '@nestjs/common';
import { EventEmitter2 } from '@nestjs/event-emitter';
import type Dockerode from 'dockerode';
import { PassThrough } from 'node:stream';
import { DockerEngineOptions } from './docker-options';
import { ImagePuller, ImagePullProgress } from './image-puller.service';
import { rejection } from '../../../test/support/rejection';

const DIGEST = 'sha256:' + 'd'.repeat(64);
const IMAGE_ID = 'sha256:' + 'e'.repeat(64);
const PASSWORD = 'pa55-word-never-shown';

/** Stands in for dockerode: pulls hand out streams the test writes the engine's lines into. */
class FakeEngine {
  readonly pulls: Array<{ image: string; options: Record<string, unknown>; stream: PassThrough }> = [];
  readonly images = new Map<string, { Id: string; RepoDigests: string[] }>();
  pullError: Error | null = null;

  pull = jest.fn(async (image: string, options: Record<string, unknown>) => {
    await Promise.resolve();
    if (this.pullError) throw this.pullError;
    const stream = new PassThrough();
    this.pulls.push({ image, options, stream });
    return stream;
  });

  getImage(name: string) {
    return {
      inspect: async () => {
        await Promise.resolve();
        const image = this.images.get(name);
        if (!image)
          throw Object.assign(new Error(`(HTTP code 404) no such image - No such image: ${name}`), { statusCode: 404 });
        return image;
      },
    };
  }

  /** The engine finishes the pull: the image is there, the stream says so and ends. */
  complete(index: number, ref: string): void {
    const repository = ref.slice(0, ref.lastIndexOf(':'));
    this.images.set(ref, { Id: IMAGE_ID, RepoDigests: [`${repository}@${DIGEST}`] });
    const { stream } = this.pulls[index];
    stream.write('{"status":"Pulling from x/y","id":"1"}\n');
    stream.write(`{"status":"Digest: ${DIGEST}"}\n`);
    stream.end(`{"status":"Status: Downloaded newer image for ${ref}"}\n`);
  }
}

function setup(options: Partial<DockerEngineOptions> = {}, withEvents = true) {
  const engine = new FakeEngine();
  const config = {
    docker: { kind: 'socket', socketPath: '/var/run/docker.sock' },
    runners: { registryAuth: [{ registry: 'registry.example:5000', username: 'ci', password: PASSWORD }] },
  } as unknown as AppConfig;
  const emitter = new EventEmitter2();
  const events: Array<{ name: string; payload: Record<string, unknown> }> = [];
  emitter.onAny((name, payload) => events.push({ name: String(name), payload: payload as Record<string, unknown> }));
  const puller = new ImagePuller(
    engine as unknown as Dockerode,
    { name: 'default', endpoint: config.docker },
    config.runners.registryAuth,
    options,
    undefined,
    withEvents ? emitter : undefined,
  );
  return { engine, puller, events };
}

/** Lets the puller reach its next await on the (fake) engine. */
async function settle(): Promise<void> {
  for (let i = 0; i < 10; i += 1) await new Promise((resolve) => setImmediate(resolve));
}

describe('ImagePuller (fake engine)', () => {
  let logged: jest.SpyInstance[];

  beforeEach(() => {
    logged = (['log', 'warn', 'error'] as const).map((level) =>
      jest.spyOn(Logger.prototype, level).mockImplementation(() => undefined),
    );
  });

  afterEach(() => {
    // Whatever happened, no log line ever carried the password.
    const lines: unknown[] = logged.flatMap((spy) => spy.mock.calls as unknown[]);
    expect(JSON.stringify(lines)).not.toContain(PASSWORD);
    jest.restoreAllMocks();
    jest.useRealTimers();
  });

  it('shares one pull between concurrent calls and forgets it once done', async () => {
    const { engine, puller, events } = setup();
    const ref = 'registry.example:5000/x/y:1';
    const seen: ImagePullProgress[][] = [[], []];
    const a = puller.ensure(ref, 'if-not-present', { onProgress: (p) => seen[0].push(p) });
    const b = puller.ensure('registry.example:5000/x/y:1', 'always', { onProgress: (p) => seen[1].push(p) });
    await settle();
    expect(engine.pull).toHaveBeenCalledTimes(1);
    engine.complete(0, ref);
    const [ra, rb] = await Promise.all([a, b]);
    expect(ra).toMatchObject({ pulled: true, digest: DIGEST, imageId: IMAGE_ID });
    expect(rb).toMatchObject({ pulled: true, digest: DIGEST, imageId: IMAGE_ID });
    expect(events.map((e) => e.name)).toEqual([ImageEvent.Pulling, ImageEvent.Pulled]);

    const c = puller.ensure(ref, 'always');
    await settle();
    expect(engine.pull).toHaveBeenCalledTimes(2);
    engine.complete(1, ref);
    await expect(c).resolves.toMatchObject({ pulled: true });
  });

  it("sends the registry's credentials as authconfig, and none to another registry", async () => {
    const { engine, puller } = setup();
    const guarded = puller.ensure('registry.example:5000/x/y:1', 'always');
    const other = puller.ensure('ghcr.io/x/y:1', 'always');
    await settle();
    expect(engine.pulls[0].options.authconfig).toEqual({
      username: 'ci',
      password: PASSWORD,
      serveraddress: 'registry.example:5000',
    });
    expect(engine.pulls[1].options.authconfig).toBeUndefined();
    engine.complete(0, 'registry.example:5000/x/y:1');
    engine.complete(1, 'ghcr.io/x/y:1');
    await Promise.all([guarded, other]);
  });

  it('reads a failure inside an HTTP 200 stream, classifies it and never repeats a secret', async () => {
    const { engine, puller, events } = setup();
    const ref = 'registry.example:5000/x/y:1';
    const pending = rejection(puller.ensure(ref, 'if-not-present'));
    await settle();
    engine.pulls[0].stream.end(`{"error":"unauthorized: authentication required (tried ${PASSWORD})"}\n`);
    const error = await pending;
    expect(error.code).toBe(ErrorCode.ImagePullFailed);
    expect(error.details).toMatchObject({ image: ref, registry: 'registry.example:5000', reason: 'unauthorized' });
    expect(error.message).toContain('unauthorized: authentication required');
    expect(JSON.stringify([error.message, error.details, events])).not.toContain(PASSWORD);
    expect(events.map((e) => e.name)).toEqual([ImageEvent.Pulling, ImageEvent.PullFailed]);
    expect(events[1].payload).toMatchObject({ code: 'IMAGE_PULL_FAILED', reason: 'unauthorized' });
  });

  it('maps an HTTP 404 of the pull to IMAGE_PULL_FAILED not-found, not to ImageNotFound', async () => {
    const { engine, puller } = setup();
    engine.pullError = Object.assign(
      new Error(
        '(HTTP code 404) unexpected - manifest for ghcr.io/x/y:9 not found: manifest unknown: manifest unknown ',
      ),
      { statusCode: 404 },
    );
    const error = await rejection(puller.ensure('ghcr.io/x/y:9', 'if-not-present'));
    expect(error).toMatchObject({ code: ErrorCode.ImagePullFailed, details: { reason: 'not-found', statusCode: 404 } });
    expect(error.message).toContain('ghcr.io has no x/y with tag 9');
  });

  it('never pulls under never, and says what is missing', async () => {
    const { engine, puller } = setup();
    const error = await rejection(puller.ensure('ghcr.io/x/y:1', 'never'));
    expect(error).toMatchObject({
      code: ErrorCode.ImageNotFound,
      details: { image: 'ghcr.io/x/y:1', policy: 'never' },
    });
    expect(engine.pull).not.toHaveBeenCalled();
  });

  it('gives up a pull at its deadline with Timeout, and publishes the failure', async () => {
    const { engine, puller, events } = setup({ pullTimeoutMs: 50 });
    const error = await rejection(puller.ensure('ghcr.io/x/y:1', 'always'));
    expect(error).toMatchObject({ code: ErrorCode.Timeout, details: { image: 'ghcr.io/x/y:1', timeoutMs: 50 } });
    // The request is torn down (dockerode destroys it on abort); the late end of the stream changes nothing.
    expect((engine.pulls[0].options.abortSignal as AbortSignal).aborted).toBe(true);
    engine.pulls[0].stream.end();
    expect(events[events.length - 1]).toMatchObject({
      name: ImageEvent.PullFailed,
      payload: { code: 'TIMEOUT', reason: null },
    });
  });

  it('reports progress at most once a second, to every caller sharing the pull', async () => {
    jest.useFakeTimers({ doNotFake: ['nextTick', 'setImmediate', 'queueMicrotask'] });
    const { engine, puller, events } = setup();
    const ref = 'ghcr.io/x/y:1';
    const seen: ImagePullProgress[] = [];
    const pending = puller.ensure(ref, 'always', { onProgress: (p) => seen.push(p) });
    await settle();
    const { stream } = engine.pulls[0];
    const line = (current: number) =>
      `{"status":"Downloading","progressDetail":{"current":${current},"total":4000},"id":"aaaaaaaaaaaa"}\n`;
    for (const [advance, current] of [
      [0, 100],
      [300, 500],
      [700, 1000], // 1 s since the start: reported
      [500, 2000],
      [400, 2500], // 0.9 s since the last report: not yet
      [200, 3000], // 1.1 s: reported
    ]) {
      jest.advanceTimersByTime(advance);
      stream.write(line(current));
      await settle();
    }
    engine.complete(0, ref);
    await pending;
    expect(seen.map((p) => p.bytesDone)).toEqual([1000, 3000]);
    expect(seen[0]).toMatchObject({ image: ref, registry: 'ghcr.io', bytesTotal: 4000, layersTotal: 1 });
    expect(events.filter((e) => e.name === ImageEvent.PullProgress).map((e) => e.payload.bytesDone)).toEqual([
      1000, 3000,
    ]);
  });

  it('works without an event emitter (a bare DockerModule), reporting through onProgress only', async () => {
    const { engine, puller, events } = setup({}, false);
    const pending = puller.ensure('ghcr.io/x/y:1', 'always');
    await settle();
    engine.complete(0, 'ghcr.io/x/y:1');
    await expect(pending).resolves.toMatchObject({ pulled: true });
    expect(events).toEqual([]);
  });
});
