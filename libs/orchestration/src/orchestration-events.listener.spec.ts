import { ContainerState, ContainerTransitionPayload, loadAppConfig } from '@app/common';
import { RunnerEntity, RunnerRepository, RunnerStatus } from '@app/persistence';
import { GitHubRunnerRegistry } from './github';
import { JobDispatcher } from './job-dispatcher.service';
import { JobSettlement } from './job-settlement.service';
import { OrchestrationEventsListener } from './orchestration-events.listener';
import { RunnerRegistrations } from './runner-registrations.service';

/**
 * Attack 7 of issue 13: a container made through the API names the runner of someone else's running job; removing
 * that container must not take the runner off GitHub. Only a runner's own container (runners.containerId) releases it.
 */
describe(OrchestrationEventsListener.name, () => {
  let runners: Map<string, RunnerEntity>;
  let registry: jest.Mocked<Pick<GitHubRunnerRegistry, 'deregister'>>;
  let dispatcher: jest.Mocked<Pick<JobDispatcher, 'kick'>>;
  let sut: OrchestrationEventsListener;

  const removed = (containerId: string, runnerId: string | null): ContainerTransitionPayload => ({
    containerId,
    engineId: null,
    name: `runner-${containerId}`,
    previousState: ContainerState.Removing,
    state: ContainerState.Removed,
    reason: 'removed from the engine',
    actor: 'operator',
    exitCode: null,
    runnerId,
    jobId: 'job-of-the-caller',
    repository: null,
    at: new Date().toISOString(),
  });

  beforeEach(() => {
    runners = new Map([
      [
        'runner-1',
        {
          id: 'runner-1',
          name: 'runnerhub-job1-abc',
          githubRunnerId: '42',
          scopeKind: 'repository',
          scopeName: 'acme/app',
          status: RunnerStatus.Busy,
          containerId: 'container-of-runner-1',
          deregisteredAt: null,
          version: 3,
        } as RunnerEntity,
      ],
    ]);
    const repository: Pick<RunnerRepository, 'findById' | 'update'> = {
      findById: (id) => Promise.resolve(runners.get(id) ?? null),
      update: (id, version, changes) => {
        const current = runners.get(id)!;
        const next: RunnerEntity = { ...current, ...changes, version: version + 1 };
        runners.set(id, next);
        return Promise.resolve(next);
      },
    };
    registry = { deregister: jest.fn().mockResolvedValue('removed') };
    dispatcher = { kick: jest.fn() };
    const registrations = new RunnerRegistrations(
      loadAppConfig({}),
      registry as unknown as GitHubRunnerRegistry,
      repository as RunnerRepository,
    );
    sut = new OrchestrationEventsListener({} as JobSettlement, registrations, dispatcher as unknown as JobDispatcher);
  });

  it('attack 7: removing a container that merely names a runner never takes that runner off GitHub', async () => {
    await sut.onContainerRemoved(removed('api-container', 'runner-1'));
    expect(registry.deregister).not.toHaveBeenCalled();
    expect(runners.get('runner-1')).toMatchObject({ status: RunnerStatus.Busy, deregisteredAt: null });
    // Its slot is free all the same: the dispatcher looks at the queue again.
    expect(dispatcher.kick).toHaveBeenCalledTimes(1);
  });

  it("removing the runner's own container releases it", async () => {
    await sut.onContainerRemoved(removed('container-of-runner-1', 'runner-1'));
    expect(registry.deregister).toHaveBeenCalledWith(
      { kind: 'repository', owner: 'acme', repo: 'app' },
      { githubRunnerId: 42, name: 'runnerhub-job1-abc' },
    );
    expect(runners.get('runner-1')).toMatchObject({ status: RunnerStatus.Offline, deregisteredAt: expect.any(Date) });
  });

  it('a container naming a runner RunnerHub does not know releases nothing', async () => {
    await sut.onContainerRemoved(removed('api-container', 'no-such-runner'));
    expect(registry.deregister).not.toHaveBeenCalled();
  });
});
