import { EngineChangePayload, JobState } from '@app/common';
import { JobEntity, JobRepository } from '@app/persistence';
import { Logger } from '@nestjs/common';
import { EngineLossResponder } from './engine-loss.responder';
import { JobDispatcher } from './job-dispatcher.service';
import { JobMove, JobTransitions } from './job-transitions.service';
import { RunnerRegistrations } from './runner-registrations.service';

function job(id: string, engineName: string | null, runnerId: string | null = `runner-${id}`): JobEntity {
  return { id, state: JobState.Assigned, engineName, runnerId } as JobEntity;
}

function lost(engine: string): EngineChangePayload {
  return { engine, previousState: 'active', state: 'unreachable', reason: 'ping failed', actor: 'system', at: '' };
}

describe(EngineLossResponder.name, () => {
  let assigned: JobEntity[];
  let moves: Array<{ jobId: string; move: JobMove }>;
  let released: string[];
  let kicks: number;
  /** Jobs another party moved on first: their move finds them no longer ASSIGNED. */
  let movedOnMeanwhile: Set<string>;
  let sut: EngineLossResponder;

  beforeEach(() => {
    jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
    assigned = [];
    moves = [];
    released = [];
    kicks = 0;
    movedOnMeanwhile = new Set();
    const jobs = { findInStates: () => Promise.resolve(assigned) } as unknown as JobRepository;
    const transitions = {
      move: (jobId: string, move: JobMove) => {
        if (movedOnMeanwhile.has(jobId)) return Promise.resolve(null);
        moves.push({ jobId, move });
        return Promise.resolve({ id: jobId } as JobEntity);
      },
    } as unknown as JobTransitions;
    const registrations = {
      release: (runnerId: string) => Promise.resolve(void released.push(runnerId)),
    } as unknown as RunnerRegistrations;
    const dispatcher = { kick: () => void kicks++ } as unknown as JobDispatcher;
    sut = new EngineLossResponder(jobs, transitions, registrations, dispatcher);
  });

  afterEach(() => jest.restoreAllMocks());

  it('queues again every job waiting for its runner on the lost engine, clearing its placement, and frees its runner', async () => {
    assigned = [job('a', 'lost'), job('b', 'other'), job('c', 'lost', null)];
    await sut.onEngineLost(lost('lost'));

    expect(moves.map(({ jobId }) => jobId)).toEqual(['a', 'c']);
    expect(moves[0].move).toMatchObject({
      to: JobState.Queued,
      from: [JobState.Assigned],
      changes: { runnerId: null, containerId: null, engineName: null, placement: null, availableAt: null },
      reason: 'engine lost is unreachable: queued again to run elsewhere',
    });
    expect(released).toEqual(['runner-a']);
    expect(kicks).toBe(1);
  });

  it('leaves a job that moved on meanwhile (its runner got it, or it was cancelled) and its runner alone', async () => {
    assigned = [job('a', 'lost')];
    movedOnMeanwhile.add('a');
    await sut.onEngineLost(lost('lost'));
    expect(released).toEqual([]);
  });

  it('wakes the dispatcher when room may have appeared', () => {
    sut.onRoomMayHaveAppeared();
    expect(kicks).toBe(1);
  });
});
