import { DomainError, ErrorCode, JobState, loadAppConfig } from '@app/common';
import { EngineRegistry } from '@app/docker';
import { ContainerLifecycleManager } from '@app/lifecycle';
import { JobEntity, JobRepository } from '@app/persistence';
import { Logger } from '@nestjs/common';
import { JobRetryPolicy } from './job-retry.policy';
import { JobSettlement } from './job-settlement.service';
import { JobMove, JobTransitions } from './job-transitions.service';
import { RunnerContainerConfig } from './runner-container.config';
import { RunnerProvisioner } from './runner-provisioner.service';
import { RunnerImageFamilies } from './runner-images';
import { RunnerProfiles } from './runner-profiles';
import { RunnerRegistrations } from './runner-registrations.service';
import { RunnerContainerRemover } from './runner-container.remover';

/** A try whose engine does not answer: the engines, the job's moves and GitHub replaced at their boundary. */
describe(RunnerProvisioner.name, () => {
  const config = loadAppConfig({ JOB_MAX_ATTEMPTS: '3', JOB_RETRY_BACKOFF_MS: '1000' });
  let moves: JobMove[];
  let registered: number;

  function provisionerWith(engineNames: string[]): RunnerProvisioner {
    const away = new DomainError(ErrorCode.EngineUnavailable, 'Docker engine at unix:///run/c.sock is not reachable');
    const connection = (name: string) => ({ name, images: { ensure: () => Promise.reject(away) } });
    const engines = {
      all: () => engineNames.map(connection),
      get: connection,
      get first() {
        return connection(engineNames[0]);
      },
    } as unknown as EngineRegistry;
    const transitions = {
      move: (_id: string, move: JobMove) => {
        moves.push(move);
        return Promise.resolve({} as JobEntity);
      },
    } as unknown as JobTransitions;
    const registrations = { register: () => Promise.resolve(void registered++) } as unknown as RunnerRegistrations;
    return new RunnerProvisioner(
      {} as ContainerLifecycleManager,
      {} as RunnerContainerRemover,
      registrations,
      {} as RunnerContainerConfig,
      transitions,
      new JobRetryPolicy(config),
      {} as JobSettlement,
      new RunnerProfiles(config),
      new RunnerImageFamilies(config),
      engines,
      config,
      {} as JobRepository,
    );
  }

  const job = { id: 'job-1', labels: ['self-hosted'], attempts: 2, engineName: 'c', image: null } as JobEntity;

  beforeEach(() => {
    jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
    moves = [];
    registered = 0;
  });

  afterEach(() => jest.restoreAllMocks());

  it('places the job again without counting the try when its engine does not answer and others may take it', async () => {
    const before = Date.now();
    await provisionerWith(['a', 'b', 'c']).provision(job);

    expect(registered).toBe(0);
    expect(moves).toHaveLength(1);
    expect(moves[0]).toMatchObject({
      to: JobState.Queued,
      from: [JobState.Assigned],
      changes: { attempts: 2, runnerId: null, failureCode: ErrorCode.EngineUnavailable },
    });
    expect(moves[0].reason).toMatch(/^engine c did not answer .*this try does not count$/);
    expect(moves[0].changes!.availableAt!.getTime()).toBeGreaterThanOrEqual(before + 1000);
  });

  it('counts the try on a lone engine, and fails the job at the last one', async () => {
    await provisionerWith(['c']).provision(job);

    expect(moves[0]).toMatchObject({
      to: JobState.Failed,
      changes: { attempts: 3, failureCode: ErrorCode.EngineUnavailable },
      reason: expect.stringMatching(/^gave up after 3 tries/),
    });
  });
});
