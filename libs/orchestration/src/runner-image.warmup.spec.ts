import { ImagePullPolicy, loadAppConfig } from '@app/common';
import { EngineConnection, EngineRegistry } from '@app/docker';
import { Subject } from 'rxjs';
import { RunnerImageWarmup } from './runner-image.warmup';

describe(RunnerImageWarmup.name, () => {
  function sut(env: Record<string, string>, engineNames = ['default']) {
    const calls: Array<[string, string, ImagePullPolicy]> = [];
    const connection = (name: string) =>
      ({
        name,
        images: {
          ensure: (image: string, policy: ImagePullPolicy) => {
            calls.push([name, image, policy]);
            return Promise.resolve({ image, imageId: 'sha256:x', digest: null, pulled: true, durationMs: 1 });
          },
        },
      }) as unknown as EngineConnection;
    const added = new Subject<EngineConnection>();
    const engines = { all: () => engineNames.map(connection), added$: added } as unknown as EngineRegistry;
    const warmup = new RunnerImageWarmup(loadAppConfig(env), engines);
    return { warmup, calls, join: (name: string) => added.next(connection(name)) };
  }

  it('pulls the default runner image at start on every engine, under the configured policy', () => {
    const { warmup, calls } = sut({ RUNNER_IMAGE: 'ghcr.io/acme/runner:1', RUNNER_IMAGE_PULL: 'always' }, ['a', 'b']);
    warmup.onApplicationBootstrap();
    expect(calls).toEqual([
      ['a', 'ghcr.io/acme/runner:1', 'always'],
      ['b', 'ghcr.io/acme/runner:1', 'always'],
    ]);
  });

  it('pulls it on an engine that joins the fleet later, as it joins', () => {
    const { warmup, calls, join } = sut({ RUNNER_IMAGE: 'ghcr.io/acme/runner:1' });
    warmup.onApplicationBootstrap();
    join('c');
    expect(calls.map(([engine]) => engine)).toEqual(['default', 'c']);
    warmup.onApplicationShutdown();
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
