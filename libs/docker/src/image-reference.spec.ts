import { canonicalReference, parseImageReference, registryOf, repoDigestFor } from './image-reference';

describe('registryOf', () => {
  it.each([
    ['ghcr.io/actions/actions-runner:2.329.0', 'ghcr.io'],
    ['127.0.0.1:5000/x/y:1', '127.0.0.1:5000'],
    ['localhost/x:1', 'localhost'],
    ['localhost:5000/x', 'localhost:5000'],
    ['ubuntu', 'docker.io'],
    ['ubuntu:22.04', 'docker.io'],
    ['myoung34/github-runner:latest', 'docker.io'],
    ['docker.io/library/ubuntu', 'docker.io'],
    ['index.docker.io/library/ubuntu', 'docker.io'],
    ['registry-1.docker.io/myoung34/github-runner', 'docker.io'],
    ['Registry.Example.COM/team/app@sha256:' + 'a'.repeat(64), 'registry.example.com'],
    ['docker:27.5.1-dind', 'docker.io'],
  ])('%s pulls from %s', (image, registry) => {
    expect(registryOf(image)).toBe(registry);
  });
});

describe('parseImageReference', () => {
  it('takes tag and port apart', () => {
    expect(parseImageReference('127.0.0.1:5000/x/y:1')).toEqual({
      registry: '127.0.0.1:5000',
      repository: 'x/y',
      tag: '1',
      digest: null,
    });
  });

  it('defaults the tag to latest and puts one-component Docker Hub names under library/', () => {
    expect(parseImageReference('ubuntu')).toEqual({
      registry: 'docker.io',
      repository: 'library/ubuntu',
      tag: 'latest',
      digest: null,
    });
  });

  it('keeps a digest and no tag for a digest reference, and both when both are given', () => {
    const digest = 'sha256:' + 'b'.repeat(64);
    expect(parseImageReference(`ghcr.io/a/b@${digest}`)).toMatchObject({ tag: null, digest });
    expect(parseImageReference(`ghcr.io/a/b:2@${digest}`)).toMatchObject({ repository: 'a/b', tag: '2', digest });
  });

  it('gives one spelling to the names of one image', () => {
    expect(canonicalReference('ubuntu')).toBe('docker.io/library/ubuntu:latest');
    expect(canonicalReference('docker.io/library/ubuntu:latest')).toBe('docker.io/library/ubuntu:latest');
    expect(canonicalReference('index.docker.io/library/ubuntu')).toBe('docker.io/library/ubuntu:latest');
    expect(canonicalReference('127.0.0.1:5000/x/y')).toBe('127.0.0.1:5000/x/y:latest');
  });
});

describe('repoDigestFor', () => {
  const a = 'sha256:' + 'a'.repeat(64);
  const b = 'sha256:' + 'b'.repeat(64);

  it("takes the digest of the reference's own repository, as the engine records RepoDigests", () => {
    // Recorded shape: `docker inspect` after pulling the same image from two repositories.
    const repoDigests = [`127.0.0.1:41001/other/busybox@${a}`, `127.0.0.1:41001/runnerhub/busybox@${b}`];
    expect(repoDigestFor('127.0.0.1:41001/runnerhub/busybox:1', repoDigests)).toBe(b);
    expect(repoDigestFor('127.0.0.1:41001/other/busybox:7', repoDigests)).toBe(a);
  });

  it('matches the familiar Docker Hub names the engine writes (ubuntu@..., owner/name@...)', () => {
    expect(repoDigestFor('docker.io/library/ubuntu:22.04', [`ubuntu@${a}`])).toBe(a);
    expect(repoDigestFor('myoung34/github-runner:latest', [`myoung34/github-runner@${b}`])).toBe(b);
  });

  it('is null for a local-only image or another registry', () => {
    expect(repoDigestFor('runnerhub-test/busybox:1', [])).toBeNull();
    expect(repoDigestFor('runnerhub-test/busybox:1', null)).toBeNull();
    expect(repoDigestFor('127.0.0.1:5000/x/y:1', [`127.0.0.1:5001/x/y@${a}`])).toBeNull();
  });
});
