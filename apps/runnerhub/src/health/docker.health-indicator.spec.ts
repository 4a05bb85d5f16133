import { EngineRegistry } from '@app/docker';
import { Logger } from '@nestjs/common';
import { HealthIndicatorService } from '@nestjs/terminus';
import { DockerHealthIndicator } from './docker.health-indicator';

/** An engine whose ping fails with `failure` while it is set. */
class FlakyEngine {
  failure: Error | null = null;
  ping(): Promise<void> {
    return this.failure ? Promise.reject(this.failure) : Promise.resolve();
  }
}

/** The fleet as the indicator sees it: its engines, each answering or not. */
function fleet(...engines: FlakyEngine[]): EngineRegistry {
  return { all: () => engines.map((engine) => ({ engine })) } as unknown as EngineRegistry;
}

describe(DockerHealthIndicator.name, () => {
  let engine: FlakyEngine;
  let sut: DockerHealthIndicator;
  let warnings: jest.SpyInstance;
  let infos: jest.SpyInstance;

  beforeEach(() => {
    engine = new FlakyEngine();
    sut = new DockerHealthIndicator(fleet(engine), new HealthIndicatorService());
    warnings = jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
    infos = jest.spyOn(Logger.prototype, 'log').mockImplementation(() => undefined);
  });

  afterEach(() => jest.restoreAllMocks());

  it('answers up or down and nothing else, whatever the engine said', async () => {
    expect(await sut.isReachable('docker')).toEqual({ docker: { status: 'up' } });
    engine.failure = new Error('Docker engine at unix:///run/secret/docker.sock is not reachable: connect ENOENT');
    expect(await sut.isReachable('docker')).toEqual({ docker: { status: 'down' } });
  });

  it('logs why the engine is down once per reason, and once when it is back', async () => {
    engine.failure = new Error('connect ENOENT /run/secret/docker.sock');
    await sut.isReachable();
    await sut.isReachable();
    expect(warnings.mock.calls).toEqual([
      ['Not ready: the fleet of Docker engines is down: connect ENOENT /run/secret/docker.sock'],
    ]);

    engine.failure = new Error('connect ECONNREFUSED 10.0.0.5:2376');
    await sut.isReachable();
    expect(warnings).toHaveBeenCalledTimes(2);

    engine.failure = null;
    await sut.isReachable();
    await sut.isReachable();
    expect(infos.mock.calls).toEqual([['The fleet of Docker engines is up again']]);
  });

  it('stays up while one engine of several answers, and goes down when none does', async () => {
    const other = new FlakyEngine();
    sut = new DockerHealthIndicator(fleet(engine, other), new HealthIndicatorService());
    engine.failure = new Error('connect ECONNREFUSED 10.0.0.5:2376');
    expect(await sut.isReachable('docker')).toEqual({ docker: { status: 'up' } });
    other.failure = new Error('connect ECONNREFUSED 10.0.0.6:2376');
    expect(await sut.isReachable('docker')).toEqual({ docker: { status: 'down' } });
  });
});
