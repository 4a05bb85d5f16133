import { ImagePullPolicy, loadAppConfig } from '@app/common';
import { ImagePuller } from '@app/docker';
import { RunnerImageWarmup } from './runner-image.warmup';

describe(RunnerImageWarmup.name, () => {
  function sut(env: Record<string, string>) {
    const calls: Array<[string, ImagePullPolicy]> = [];
    const puller = {
      ensure: (image: string, policy: ImagePullPolicy) => {
        calls.push([image, policy]);
        return Promise.resolve({ image, imageId: 'sha256:x', digest: null, pulled: true, durationMs: 1 });
      },
    } as unknown as ImagePuller;
    return { warmup: new RunnerImageWarmup(loadAppConfig(env), puller), calls };
  }

  it('pulls the default runner image at start, under the configured policy', () => {
    const { warmup, calls } = sut({ RUNNER_IMAGE: 'ghcr.io/acme/runner:1', RUNNER_IMAGE_PULL: 'always' });
    warmup.onApplicationBootstrap();
    expect(calls).toEqual([['ghcr.io/acme/runner:1', 'always']]);
  });

  it('pulls nothing when told not to, or when images are never pulled', () => {
    const settings: Array<Record<string, string>> = [{ RUNNER_IMAGE_PREPULL: 'false' }, { RUNNER_IMAGE_PULL: 'never' }];
    for (const env of settings) {
      const { warmup, calls } = sut(env);
      warmup.onApplicationBootstrap();
      expect(calls).toEqual([]);
    }
  });
});
