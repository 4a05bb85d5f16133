import { ContainerState as S } from '@app/common';
import { LifecycleDurations, TransitionFacts } from './lifecycle-durations';

const T0 = Date.parse('2026-12-01T10:00:00.000Z');

/** A transition of container `id` from `from` to `to`, `ms` after T0. */
function move(id: string, from: S | null, to: S, ms: number, reason = 'x'): TransitionFacts {
  return { containerId: id, previousState: from, state: to, at: new Date(T0 + ms).toISOString(), reason };
}

/** Feeds the transitions in order and returns what each one finished. */
function feed(sut: LifecycleDurations, ...transitions: TransitionFacts[]) {
  return transitions.map((transition) => sut.record(transition));
}

describe(LifecycleDurations.name, () => {
  it('times a whole life: start, stop and remove, each from its transitional state to its end', () => {
    const finished = feed(
      new LifecycleDurations(),
      move('c', S.Creating, S.Created, 0),
      move('c', S.Created, S.Starting, 100, 'start requested'),
      move('c', S.Starting, S.Running, 350),
      move('c', S.Running, S.Stopping, 1_000, 'stop requested'),
      move('c', S.Stopping, S.Stopped, 1_060),
      move('c', S.Stopped, S.Removing, 2_000, 'cleanup:orphan'),
      move('c', S.Removing, S.Removed, 2_012),
    );
    expect(finished.filter(Boolean)).toEqual([
      { operation: 'start', outcome: 'ok', seconds: 0.25, reason: 'start requested' },
      { operation: 'stop', outcome: 'ok', seconds: 0.06, reason: 'stop requested' },
      { operation: 'remove', outcome: 'ok', seconds: 0.012, reason: 'cleanup:orphan' },
    ]);
  });

  it('counts an operation that ended in ERROR as failed, for each of the three', () => {
    const sut = new LifecycleDurations();
    const [, start] = feed(sut, move('a', S.Created, S.Starting, 0), move('a', S.Starting, S.Error, 40));
    const [, stop] = feed(sut, move('b', S.Running, S.Stopping, 0), move('b', S.Stopping, S.Error, 500));
    const [, remove] = feed(sut, move('c', S.Stopped, S.Removing, 0), move('c', S.Removing, S.Error, 7));
    expect([start, stop, remove]).toEqual([
      expect.objectContaining({ operation: 'start', outcome: 'error', seconds: 0.04 }),
      expect.objectContaining({ operation: 'stop', outcome: 'error', seconds: 0.5 }),
      expect.objectContaining({ operation: 'remove', outcome: 'error', seconds: 0.007 }),
    ]);
  });

  it('does not time a way out that is neither success nor failure (exited while starting)', () => {
    const sut = new LifecycleDurations();
    const finished = feed(sut, move('c', S.Created, S.Starting, 0), move('c', S.Starting, S.Stopped, 90));
    expect(finished).toEqual([null, null]);
    expect(sut.inFlight).toBe(0);
  });

  it('times nothing without a beginning it saw (an event from before a restart, or a direct RUNNING -> ERROR)', () => {
    const sut = new LifecycleDurations();
    expect(
      feed(
        sut,
        move('c', S.Starting, S.Running, 10),
        move('d', S.Running, S.Error, 10),
        move('e', S.Running, S.Stopped, 5),
      ),
    ).toEqual([null, null, null]);
  });

  it('keeps containers apart when their operations interleave', () => {
    const finished = feed(
      new LifecycleDurations(),
      move('a', S.Created, S.Starting, 0),
      move('b', S.Created, S.Starting, 10),
      move('b', S.Starting, S.Running, 30),
      move('a', S.Starting, S.Running, 300),
    );
    expect(finished.filter(Boolean).map((f) => f!.seconds)).toEqual([0.02, 0.3]);
  });

  it('chains a forced removal: the stop and the removal are timed separately', () => {
    const finished = feed(
      new LifecycleDurations(),
      move('c', S.Running, S.Stopping, 0, 'removal requested (forced)'),
      move('c', S.Stopping, S.Stopped, 70),
      move('c', S.Stopped, S.Removing, 75, 'removal requested'),
      move('c', S.Removing, S.Removed, 95),
    );
    expect(finished.filter(Boolean).map((f) => [f!.operation, f!.seconds])).toEqual([
      ['stop', 0.07],
      ['remove', 0.02],
    ]);
  });

  it('never reports a negative duration when the clock stepped back', () => {
    const [, finished] = feed(
      new LifecycleDurations(),
      move('c', S.Created, S.Starting, 1_000),
      move('c', S.Starting, S.Running, 400),
    );
    expect(finished?.seconds).toBe(0);
  });

  it('forgets the oldest operation in flight beyond its capacity, so containers that never finish cannot fill it', () => {
    const sut = new LifecycleDurations(3);
    feed(sut, ...['a', 'b', 'c', 'd'].map((id, i) => move(id, S.Created, S.Starting, i)));
    expect(sut.inFlight).toBe(3);
    expect(sut.record(move('a', S.Starting, S.Running, 100))).toBeNull();
    expect(sut.record(move('d', S.Starting, S.Running, 100))).toMatchObject({ operation: 'start', seconds: 0.097 });
    expect(sut.inFlight).toBe(2);
  });

  it('ignores a transition whose time cannot be read rather than timing garbage', () => {
    const sut = new LifecycleDurations();
    sut.record(move('c', S.Created, S.Starting, 0));
    expect(sut.record({ ...move('c', S.Starting, S.Running, 10), at: 'yesterday' })).toBeNull();
    expect(sut.inFlight).toBe(0);
  });
});
