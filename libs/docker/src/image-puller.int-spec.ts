import { AppConfigModule, ErrorCode, ImageEvent, loadAppConfig } from '@app/common';
import { EventEmitter2, EventEmitterModule } from '@nestjs/event-emitter';
import { Test, TestingModule } from '@nestjs/testing';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { docker } from '../../../test/support/engine-cli';
import { freePort, LocalRegistry, startLocalRegistry, SUPPORT_USER_AGENT } from '../../../test/support/local-registry';
import { TEST_IMAGE } from '../../../test/support/test-env';
import { waitFor } from '../../../test/support/wait-for';
import { DockerModule, ImagePuller, ImagePullProgress } from '.';
import { rejection } from '../../../test/support/rejection';

/** Every event a puller published, in order. */
type Published = Array<{ name: string; payload: Record<string, unknown> }>;

interface PullerUnderTest {
  puller: ImagePuller;
  events: Published;
  moduleRef: TestingModule;
}

/** An ImagePuller in a module of its own, with REGISTRY_AUTH as given and an EventEmitter2 to watch its events. */
async function pullerWith(registryAuth?: string): Promise<PullerUnderTest> {
  const config = loadAppConfig({ DOCKER_HOST: process.env.DOCKER_HOST, REGISTRY_AUTH: registryAuth });
  const moduleRef = await Test.createTestingModule({
    imports: [
      AppConfigModule.forRoot(config),
      EventEmitterModule.forRoot({ wildcard: true, delimiter: ':' }),
      DockerModule,
    ],
  }).compile();
  await moduleRef.init();
  const events: Published = [];
  moduleRef.get(EventEmitter2).onAny((name, payload) => {
    if (String(name).startsWith('image:'))
      events.push({ name: String(name), payload: payload as Record<string, unknown> });
  });
  return { puller: moduleRef.get(ImagePuller), events, moduleRef };
}

function repoDigests(ref: string): string[] {
  return JSON.parse(docker(['image', 'inspect', '--format', '{{json .RepoDigests}}', ref])) as string[];
}

function localImageExists(ref: string): boolean {
  try {
    docker(['image', 'inspect', ref]);
    return true;
  } catch {
    return false;
  }
}

describe('ImagePuller against the real engine and real registries', () => {
  const username = 'runnerhub-ci';
  const password = `pw-${randomBytes(12).toString('hex')}`;
  const wrongPassword = `wrong-${randomBytes(12).toString('hex')}`;
  let open: LocalRegistry;
  let guarded: LocalRegistry;
  let anonymous: PullerUnderTest;
  let authenticated: PullerUnderTest;
  let mistaken: PullerUnderTest;
  /** Every reference a test pulled (or may have): removed by reference in afterAll, which only untags TEST_IMAGE. */
  const pulledRefs = new Set<string>();
  const localImages = new Set<string>();
  const run = randomBytes(3).toString('hex');

  /** Pushes TEST_IMAGE to the registry under a repository of its own; the engine then lacks that reference. */
  async function pushed(registry: LocalRegistry, repository: string, tag = '1'): Promise<string> {
    const ref = await registry.push(TEST_IMAGE, `runnerhub-pull-${run}/${repository}:${tag}`);
    pulledRefs.add(ref);
    expect(localImageExists(ref)).toBe(false);
    return ref;
  }

  /** How many times the engine asked the registry for this reference's manifest by tag (once per pull). */
  function manifestRequests(registry: LocalRegistry, ref: string): number {
    const [repository, tag] = ref.slice(registry.host.length + 1).split(':');
    const path = `/v2/${repository}/manifests/${tag}`;
    return registry
      .requests()
      .filter(
        (r) => r.path === path && (r.method === 'HEAD' || r.method === 'GET') && r.userAgent !== SUPPORT_USER_AGENT,
      ).length;
  }

  /** Every request the engine made to the registry (the support's own digest look-ups left out). */
  function engineRequests(registry: LocalRegistry): number {
    return registry.requests().filter((r) => r.userAgent !== SUPPORT_USER_AGENT).length;
  }

  beforeAll(async () => {
    [open, guarded] = await Promise.all([startLocalRegistry(), startLocalRegistry({ auth: { username, password } })]);
    [anonymous, authenticated, mistaken] = await Promise.all([
      pullerWith(),
      pullerWith(`${guarded.host}=${username}:${password}`),
      pullerWith(`${guarded.host}=${username}:${wrongPassword}`),
    ]);
  });

  afterAll(async () => {
    for (const ref of [...pulledRefs, ...localImages]) {
      try {
        docker(['rmi', ref]);
      } catch {
        // never pulled, or already gone
      }
    }
    await Promise.all([anonymous, authenticated, mistaken].map((p) => p?.moduleRef.close()));
    await Promise.all([open?.stop(), guarded?.stop()]);
  });

  describe('policies', () => {
    it('if-not-present pulls a missing image once, then answers from the engine without asking the registry', async () => {
      const ref = await pushed(open, 'once');
      const first = await anonymous.puller.ensure(ref, 'if-not-present');
      expect(first).toMatchObject({
        image: ref,
        pulled: true,
        digest: await open.manifestDigest(ref.slice(open.host.length + 1)),
      });
      expect(first.imageId).toMatch(/^sha256:[a-f0-9]{64}$/);
      await waitFor(() => manifestRequests(open, ref) === 1, { description: 'the pull to be in the access log' });
      const requestsBefore = engineRequests(open);

      const second = await anonymous.puller.ensure(ref, 'if-not-present');
      expect(second).toMatchObject({ image: ref, pulled: false, imageId: first.imageId, digest: first.digest });
      expect(engineRequests(open)).toBe(requestsBefore);
      expect(manifestRequests(open, ref)).toBe(1);
    });

    it('always pulls every time', async () => {
      const ref = await pushed(open, 'always');
      const first = await anonymous.puller.ensure(ref, 'always');
      const second = await anonymous.puller.ensure(ref, 'always');
      expect(first.pulled).toBe(true);
      expect(second).toMatchObject({ pulled: true, digest: first.digest, imageId: first.imageId });
      await waitFor(() => manifestRequests(open, ref) === 2, { description: 'two pulls in the access log' });
    });

    it('never: a missing image is ImageNotFound naming the image and the policy; a present one is used as is', async () => {
      const ref = `${open.host}/runnerhub-pull-${run}/never-pushed:1`;
      const error = await rejection(anonymous.puller.ensure(ref, 'never'));
      expect(error.code).toBe(ErrorCode.ImageNotFound);
      expect(error.message).toContain(ref);
      expect(error.message).toContain('"never"');
      expect(error.details).toMatchObject({ image: ref, policy: 'never', registry: open.host });
      expect(manifestRequests(open, ref)).toBe(0);

      // The test image was imported, never pulled: no registry knows it, so no digest.
      await expect(anonymous.puller.ensure(TEST_IMAGE, 'never')).resolves.toMatchObject({
        pulled: false,
        digest: null,
      });
    });

    it('always does not fall back to the local image when the registry cannot be reached', async () => {
      const shortLived = await startLocalRegistry();
      try {
        const ref = await shortLived.push(TEST_IMAGE, `runnerhub-pull-${run}/stale:1`);
        pulledRefs.add(ref);
        await anonymous.puller.ensure(ref, 'always');
        await shortLived.stop();
        const error = await rejection(anonymous.puller.ensure(ref, 'always'));
        expect(error).toMatchObject({ code: ErrorCode.ImagePullFailed, details: { reason: 'unreachable' } });
        // if-not-present still runs what is there.
        await expect(anonymous.puller.ensure(ref, 'if-not-present')).resolves.toMatchObject({ pulled: false });
      } finally {
        await shortLived.stop();
      }
    });
  });

  describe('digest', () => {
    it("returns the registry's manifest digest, the one the engine records in RepoDigests", async () => {
      const ref = await pushed(open, 'digest');
      const result = await anonymous.puller.ensure(ref, 'if-not-present');
      const manifest = await open.manifestDigest(ref.slice(open.host.length + 1));
      expect(result.digest).toBe(manifest);
      const repository = ref.slice(0, ref.lastIndexOf(':'));
      expect(repoDigests(ref)).toContain(`${repository}@${manifest}`);
    });
  });

  describe('concurrency', () => {
    it('shares one pull between concurrent ensures of one missing image', async () => {
      const ref = await pushed(open, 'concurrent');
      const results = await Promise.all([
        anonymous.puller.ensure(ref, 'if-not-present'),
        anonymous.puller.ensure(ref, 'if-not-present'),
        anonymous.puller.ensure(ref, 'always'),
      ]);
      expect(results.map((r) => r.pulled)).toEqual([true, true, true]);
      expect(new Set(results.map((r) => r.digest)).size).toBe(1);
      expect(results[0].digest).toMatch(/^sha256:/);
      await waitFor(() => manifestRequests(open, ref) >= 1, { description: 'the pull in the access log' });
      expect(manifestRequests(open, ref)).toBe(1);
      expect(anonymous.events.filter((e) => e.name === ImageEvent.Pulling && e.payload.image === ref)).toHaveLength(1);

      // The sharing ends with the pull: the next always pulls again.
      await anonymous.puller.ensure(ref, 'always');
      await waitFor(() => manifestRequests(open, ref) === 2, { description: 'a second, separate pull' });
    });
  });

  describe('registry with htpasswd auth', () => {
    it('pulls with the right password from REGISTRY_AUTH', async () => {
      const ref = await pushed(guarded, 'auth-ok');
      const result = await authenticated.puller.ensure(ref, 'if-not-present');
      expect(result).toMatchObject({
        pulled: true,
        digest: await guarded.manifestDigest(ref.slice(guarded.host.length + 1)),
      });
      expect(
        authenticated.events.find((e) => e.name === ImageEvent.Pulling && e.payload.image === ref)?.payload,
      ).toMatchObject({
        registry: guarded.host,
        authenticated: true,
      });
    });

    it('reports a wrong password as unauthorized, with the registry and its answer, never the password', async () => {
      const ref = await pushed(guarded, 'auth-wrong');
      const error = await rejection(mistaken.puller.ensure(ref, 'if-not-present'));
      expect(error.code).toBe(ErrorCode.ImagePullFailed);
      expect(error.details).toMatchObject({ image: ref, registry: guarded.host, reason: 'unauthorized' });
      expect(error.message).toContain(guarded.host);
      expect(error.message).toContain('unauthorized: authentication required');
      expect(error.message).toContain('REGISTRY_AUTH');
      const everything = JSON.stringify([error.message, error.details, mistaken.events]);
      expect(everything).not.toContain(wrongPassword);
      expect(everything).not.toContain(password);
      const failed = mistaken.events.find((e) => e.name === ImageEvent.PullFailed && e.payload.image === ref);
      expect(failed?.payload).toMatchObject({
        code: 'IMAGE_PULL_FAILED',
        reason: 'unauthorized',
        registry: guarded.host,
      });
      expect(localImageExists(ref)).toBe(false);
    });

    it('reports a registry that wants credentials REGISTRY_AUTH does not have as unauthorized', async () => {
      const ref = await pushed(guarded, 'auth-none');
      const error = await rejection(anonymous.puller.ensure(ref, 'if-not-present'));
      expect(error).toMatchObject({
        code: ErrorCode.ImagePullFailed,
        details: { reason: 'unauthorized', registry: guarded.host, authenticated: false },
      });
      expect(error.message).toMatch(/no basic auth credentials/);
      expect(error.message).toContain(`REGISTRY_AUTH has none for it`);
    });
  });

  describe('failures', () => {
    it('reports a tag the registry does not have as not-found, with its answer', async () => {
      await pushed(open, 'tags', '1');
      const ref = `${open.host}/runnerhub-pull-${run}/tags:does-not-exist`;
      const error = await rejection(anonymous.puller.ensure(ref, 'if-not-present'));
      expect(error).toMatchObject({
        code: ErrorCode.ImagePullFailed,
        details: { reason: 'not-found', registry: open.host },
      });
      expect(error.message).toContain(ref);
      expect(error.message).toContain('manifest unknown');
      expect(error.message).toContain('with tag does-not-exist');
    });

    it('reports a registry port nothing listens on as unreachable', async () => {
      const host = `127.0.0.1:${await freePort()}`;
      const ref = `${host}/runnerhub-pull-${run}/nowhere:1`;
      const error = await rejection(anonymous.puller.ensure(ref, 'always'));
      expect(error).toMatchObject({
        code: ErrorCode.ImagePullFailed,
        details: { reason: 'unreachable', registry: host },
      });
      expect(error.message).toContain('connection refused');
      expect(
        anonymous.events.find((e) => e.name === ImageEvent.PullFailed && e.payload.image === ref)?.payload,
      ).toMatchObject({
        reason: 'unreachable',
        durationMs: expect.any(Number),
      });
    });
  });

  describe('a cold pull with layers to download', () => {
    const size = 24 * 1024 * 1024;
    let ref: string;

    beforeAll(async () => {
      // An image no engine has: one layer of random bytes, imported (no builder, no registry needed).
      const dir = mkdtempSync(join(tmpdir(), 'runnerhub-pull-layer-'));
      const local = `runnerhub-pull-${run}/random:1`;
      try {
        writeFileSync(join(dir, 'blob'), randomBytes(size));
        execFileSync('sh', ['-c', `tar -C "${dir}" -c . | docker import - "${local}"`], {
          stdio: 'ignore',
          timeout: 60_000,
        });
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
      localImages.add(local);
      ref = await open.push(local, `runnerhub-pull-${run}/random:1`);
      pulledRefs.add(ref);
      docker(['rmi', local]);
      expect(localImageExists(ref)).toBe(false);
    });

    it('downloads every layer, publishes pulling then pulled with the bytes, and reports progress', async () => {
      const progress: ImagePullProgress[] = [];
      const result = await anonymous.puller.ensure(ref, 'if-not-present', { onProgress: (p) => progress.push(p) });
      expect(result).toMatchObject({
        pulled: true,
        digest: await open.manifestDigest(ref.slice(open.host.length + 1)),
      });
      expect(localImageExists(ref)).toBe(true);

      const mine = anonymous.events.filter((e) => e.payload.image === ref).map((e) => e.name);
      expect(mine[0]).toBe(ImageEvent.Pulling);
      expect(mine[mine.length - 1]).toBe(ImageEvent.Pulled);
      const pulled = anonymous.events.find((e) => e.name === ImageEvent.Pulled && e.payload.image === ref)!.payload;
      expect(pulled).toMatchObject({ registry: open.host, digest: result.digest, imageId: result.imageId });
      // Compressed by the push: about the size of the random bytes, which do not compress.
      expect(pulled.bytesDownloaded).toBeGreaterThan(size * 0.9);
      // Throttled: never more than about one a second.
      const progressEvents = mine.filter((name) => name === ImageEvent.PullProgress).length;
      expect(progressEvents).toBeLessThanOrEqual(Math.ceil(result.durationMs / 1000) + 1);
      expect(progress.length).toBe(progressEvents);
    });
  });
});
