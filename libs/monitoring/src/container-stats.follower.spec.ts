import { ContainerState, ContainerTransitionPayload, DomainError, ErrorCode } from '@app/common';
import type { ContainerLifecycleManager } from '@app/lifecycle';
import type { ContainerRecordEntity } from '@app/persistence';
import { Logger } from '@nestjs/common';
import { ContainerStatsFollower } from './container-stats.follower';
import type { UsageSampler } from './usage-sampler.service';

function transition(containerId: string, state: ContainerState): ContainerTransitionPayload {
  return { containerId, engineId: `engine-${containerId}`, state } as ContainerTransitionPayload;
}

function follower(records: Record<string, Partial<ContainerRecordEntity>>) {
  const followed: string[] = [];
  const unfollowed: string[] = [];
  const lifecycle = {
    get: (id: string) =>
      records[id]
        ? Promise.resolve({ id, engineName: 'default', engineId: `engine-${id}`, ...records[id] })
        : Promise.reject(new DomainError(ErrorCode.NotFound, `no container ${id}`)),
  } as unknown as ContainerLifecycleManager;
  const sampler = {
    follow: (record: ContainerRecordEntity) => followed.push(record.engineId!),
    unfollow: (engineId: string) => unfollowed.push(engineId),
  } as unknown as UsageSampler;
  return { follower: new ContainerStatsFollower(lifecycle, sampler), followed, unfollowed };
}

describe('ContainerStatsFollower', () => {
  beforeAll(() => {
    Logger.overrideLogger(false);
  });

  it('opens the stats stream of a container as it starts, on the engine its record names', async () => {
    const { follower: subject, followed } = follower({ a: { state: ContainerState.Running } });
    await subject.onStarted(transition('a', ContainerState.Running));
    expect(followed).toEqual(['engine-a']);
  });

  it('opens none for a container that stopped or went away before its record was read', async () => {
    const { follower: subject, followed } = follower({ quick: { state: ContainerState.Stopped } });
    await subject.onStarted(transition('quick', ContainerState.Running));
    await expect(subject.onStarted(transition('gone', ContainerState.Running))).resolves.toBeUndefined();
    expect(followed).toEqual([]);
  });

  it('closes the stream of a container that stopped or failed', () => {
    const { follower: subject, unfollowed } = follower({});
    subject.onStopped(transition('a', ContainerState.Stopped));
    subject.onStopped(transition('b', ContainerState.Error));
    subject.onStopped({ ...transition('never-created', ContainerState.Error), engineId: null });
    expect(unfollowed).toEqual(['engine-a', 'engine-b']);
  });
});
