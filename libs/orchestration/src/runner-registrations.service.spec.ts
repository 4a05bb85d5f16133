import { loadAppConfig } from '@app/common';
import { RunnerEntity, RunnerRepository } from '@app/persistence';
import { Logger } from '@nestjs/common';
import { GitHubRunnerRegistry } from './github';
import { RunnerRegistrations } from './runner-registrations.service';

/** Registrations nobody will use, with the runners table and GitHub replaced at their boundary. */
describe(RunnerRegistrations.name, () => {
  const cutoff = new Date('2026-12-02T12:00:00Z');
  const runner = (name: string, overrides: Partial<RunnerEntity>) =>
    ({
      id: name,
      name,
      githubRunnerId: '7',
      scopeKind: 'repository',
      scopeName: 'acme/app',
      containerId: null,
      deregisteredAt: null,
      createdAt: new Date(cutoff.getTime() - 60_000),
      version: 1,
      ...overrides,
    }) as RunnerEntity;

  it('releases only old registrations without a container that no unfinished job points at', async () => {
    jest.spyOn(Logger.prototype, 'log').mockImplementation(() => undefined);
    const runners = [
      runner('abandoned', {}),
      runner('with-container', { containerId: 'c-1' }),
      runner('just-made', { createdAt: new Date(cutoff.getTime() + 1_000) }),
      runner('wanted', {}),
    ];
    const removed: string[] = [];
    const repository = {
      // As the query does: registered, no container, made before the cutoff.
      findRegisteredWithoutContainer: (before: Date) =>
        Promise.resolve(runners.filter((r) => !r.containerId && r.createdAt < before)),
      findById: (id: string) => Promise.resolve(runners.find((r) => r.id === id) ?? null),
      update: () => Promise.resolve(),
    } as unknown as RunnerRepository;
    const registry = {
      deregister: (_scope: unknown, { name }: { name: string }) => {
        removed.push(name);
        return Promise.resolve('removed');
      },
    } as unknown as GitHubRunnerRegistry;
    const sut = new RunnerRegistrations(loadAppConfig({}), registry, repository);

    await sut.releaseAbandoned(cutoff, (r) => Promise.resolve(r.name === 'wanted'));

    expect(removed).toEqual(['abandoned']);
  });
});
