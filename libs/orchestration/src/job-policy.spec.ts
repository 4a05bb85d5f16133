import { DomainError, ErrorCode, loadAppConfig } from '@app/common';
import { imagePattern, JobPolicy, repositoryPattern } from './job-policy';

function policy(env: Record<string, string> = {}): JobPolicy {
  return new JobPolicy(loadAppConfig({ RUNNER_IMAGE: 'ghcr.io/actions/actions-runner:2.329.0', ...env }));
}

function refusal(sut: JobPolicy, request: { repository: string; image?: string }) {
  const error = sut.refusal(request);
  return error && { code: error.code, details: error.details, message: error.message };
}

describe(JobPolicy.name, () => {
  it('by default allows RUNNER_IMAGE only, in any spelling, and every repository', () => {
    const sut = policy();
    expect(sut.refusal({ repository: 'any/repo' })).toBeNull();
    expect(sut.refusal({ repository: 'any/repo', image: 'ghcr.io/actions/actions-runner:2.329.0' })).toBeNull();
    expect(refusal(sut, { repository: 'any/repo', image: 'ghcr.io/actions/actions-runner:2.330.0' })).toMatchObject({
      code: ErrorCode.NotPermitted,
      details: { field: 'image', setting: 'RUNNER_IMAGES_ALLOWED' },
    });
    expect(refusal(sut, { repository: 'any/repo', image: 'ubuntu' })?.message).toMatch(
      /ubuntu \(docker\.io\/library\/ubuntu:latest\) is not allowed.*RUNNER_IMAGES_ALLOWED allows ghcr\.io\/actions\/actions-runner:2\.329\.0/,
    );
  });

  it('compares images on their canonical reference: docker.io, library/ and :latest are implied', () => {
    const sut = policy({ RUNNER_IMAGES_ALLOWED: 'ubuntu,index.docker.io/acme/runner:2' });
    for (const image of ['ubuntu', 'ubuntu:latest', 'library/ubuntu', 'docker.io/library/ubuntu:latest']) {
      expect([image, sut.refusal({ repository: 'o/r', image })]).toEqual([image, null]);
    }
    expect(sut.refusal({ repository: 'o/r', image: 'acme/runner:2' })).toBeNull();
    expect(sut.refusal({ repository: 'o/r', image: 'ubuntu:22.04' })).toBeInstanceOf(DomainError);
    expect(sut.refusal({ repository: 'o/r', image: 'evil.example/library/ubuntu' })).toBeInstanceOf(DomainError);
  });

  it('still allows RUNNER_IMAGE when RUNNER_IMAGES_ALLOWED does not list it: a job naming no image runs it', () => {
    const sut = policy({ RUNNER_IMAGES_ALLOWED: 'ghcr.io/acme/*' });
    expect(sut.refusal({ repository: 'o/r', image: 'ghcr.io/actions/actions-runner:2.329.0' })).toBeNull();
  });

  it('refuses a repository outside REPOSITORIES_ALLOWED, naming the field and the variable', () => {
    const sut = policy({ REPOSITORIES_ALLOWED: 'acme,tools/*-ci' });
    expect(sut.refusal({ repository: 'acme/anything' })).toBeNull();
    expect(sut.refusal({ repository: 'tools/web-ci' })).toBeNull();
    expect(refusal(sut, { repository: 'tools/web' })).toEqual({
      code: ErrorCode.NotPermitted,
      details: { field: 'repository', setting: 'REPOSITORIES_ALLOWED', repository: 'tools/web' },
      message: 'The repository tools/web is not served by this RunnerHub: REPOSITORIES_ALLOWED allows acme, tools/*-ci',
    });
    // The repository is checked first: both wrong names the repository.
    expect(refusal(sut, { repository: 'other/x', image: 'ubuntu' })?.details).toMatchObject({ field: 'repository' });
  });
});

describe(imagePattern.name, () => {
  it.each([
    ['ghcr.io/acme/*', 'ghcr.io/acme/runner:1', true],
    ['ghcr.io/acme/*', 'ghcr.io/acme/tools/runner@sha256:abc', true],
    ['ghcr.io/acme/*', 'ghcr.io/acmeevil/runner:1', false],
    ['ghcr.io/acme/runner:*', 'ghcr.io/acme/runner:2.1', true],
    ['ghcr.io/acme/runner:*', 'ghcr.io/acme/runner-other:2.1', false],
    ['ghcr.io/acme/runner:2.?', 'ghcr.io/acme/runner:2.1', true],
    ['ghcr.io/acme/runner:2.?', 'ghcr.io/acme/runner:2.10', false],
    ['ghcr.io/acme/runner', 'ghcr.io/acme/runner:latest', true],
    ['ghcr.io/acme/runner', 'ghcr.io/acme/runner:1', false],
    ['127.0.0.1:5000/*', '127.0.0.1:5000/x/y:1', true],
    ['127.0.0.1:5000/*', '127.0.0.1:5001/x/y:1', false],
    ['acme/*', 'docker.io/acme/runner:3', true],
    ['*', 'anything.example/at/all:1', true],
  ])('%s against %s: %s', (glob, canonical, matches) => {
    expect(imagePattern(glob).test(canonical)).toBe(matches);
  });
});

describe(repositoryPattern.name, () => {
  it.each([
    ['acme', 'acme/app', true],
    ['acme', 'ACME/App', true],
    ['acme', 'acme-evil/app', false],
    ['acme*', 'acme-labs/app', true],
    ['acme/app', 'acme/app', true],
    ['acme/app', 'acme/app2', false],
    ['acme/*-ci', 'acme/web-ci', true],
    ['acme/*', 'acme/a', true],
    ['*/app', 'anyone/app', true],
    ['a.b/c', 'axb/c', false],
  ])('%s against %s: %s', (glob, repository, matches) => {
    expect(repositoryPattern(glob).test(repository)).toBe(matches);
  });
});
