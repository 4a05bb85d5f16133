import { ContainerState as S, JobState as J } from '@app/common';
import { CleanupSettings, decideCleanup, EngineContainerView, JobView, RecordView } from './cleanup-policies';

const MIN = 60_000;
const NOW = new Date('2026-11-29T12:00:00Z');
const ago = (ms: number) => new Date(NOW.getTime() - ms);
const settings: CleanupSettings = {
  completedGraceMs: 5 * MIN,
  preserveFailed: true,
  failedRetentionMs: 24 * 60 * MIN,
  orphanAgeMs: 60 * MIN,
  stoppedAgeMs: 60 * MIN,
  stuckAfterMs: 10 * MIN,
};

function record(state: S, idleMs: number, jobId: string | null = null, id = 'c-1'): RecordView {
  return {
    id,
    name: `runner-${id}`,
    engineId: `e-${id}`,
    state,
    jobId,
    stateChangedAt: ago(idleMs),
    stateReason: null,
  };
}
function job(state: J, finishedAgoMs: number | null, containerId: string | null = 'c-1'): JobView {
  return { id: 'j-1', state, containerId, finishedAt: finishedAgoMs === null ? null : ago(finishedAgoMs) };
}
function decide(records: RecordView[], jobs: JobView[] = [], engine: EngineContainerView[] = [], s = settings) {
  return decideCleanup({ records, engineContainers: engine, jobs, now: NOW, settings: s }).map((a) =>
    a.kind === 'remove' ? `${a.kind}:${a.policy}${a.force ? ':force' : ''}` : `${a.kind}:${a.policy}`,
  );
}

describe(decideCleanup.name, () => {
  it.each([
    ['a completed job, within the grace', [record(S.Stopped, 4 * MIN, 'j-1')], [job(J.Completed, 4 * MIN)], []],
    [
      'a completed job, past the grace',
      [record(S.Stopped, 6 * MIN, 'j-1')],
      [job(J.Completed, 6 * MIN)],
      ['remove:completed'],
    ],
    [
      'a completed job whose runner still runs past the grace',
      [record(S.Running, 6 * MIN, 'j-1')],
      [job(J.Completed, 6 * MIN)],
      ['remove:completed:force'],
    ],
    [
      'a cancelled job, past the grace',
      [record(S.Stopped, 6 * MIN, 'j-1')],
      [job(J.Cancelled, 6 * MIN)],
      ['remove:completed'],
    ],
    ['a failed job, preserved', [record(S.Stopped, 23 * 60 * MIN, 'j-1')], [job(J.Failed, 23 * 60 * MIN)], []],
    [
      'a failed job, past its retention',
      [record(S.Error, 25 * 60 * MIN, 'j-1')],
      [job(J.Failed, 25 * 60 * MIN)],
      ['remove:failed'],
    ],
    ['a running job', [record(S.Running, 300 * MIN, 'j-1')], [job(J.Running, null)], []],
    [
      'a running job whose container exited long ago (settled by the dispatcher)',
      [record(S.Stopped, 300 * MIN, 'j-1')],
      [job(J.Running, null)],
      [],
    ],
    [
      'a stopped earlier try of an active job, past the grace',
      [record(S.Stopped, 6 * MIN, 'j-1', 'c-0')],
      [job(J.Running, null, 'c-1')],
      ['remove:orphan'],
    ],
    [
      'a stopped earlier try of an active job, within the grace',
      [record(S.Stopped, 4 * MIN, 'j-1', 'c-0')],
      [job(J.Running, null, 'c-1')],
      [],
    ],
    [
      'a running container of an active job that does not point at it yet, younger than the orphan age',
      [record(S.Running, 30 * MIN, 'j-1', 'c-0')],
      [job(J.Assigned, null, null)],
      [],
    ],
    [
      'a running container of an active job that does not point at it, past the orphan age',
      [record(S.Running, 61 * MIN, 'j-1', 'c-0')],
      [job(J.Assigned, null, null)],
      ['remove:orphan:force'],
    ],
    [
      // GitHub may have handed it another job, whose in_progress webhook (which moves the record to it) is late.
      'a runner still running whose job finished on another runner, past the grace',
      [record(S.Running, 6 * MIN, 'j-1', 'c-0')],
      [job(J.Completed, 6 * MIN, 'c-1')],
      [],
    ],
    [
      'a never-started runner of a job that finished elsewhere, past the grace',
      [record(S.Created, 6 * MIN, 'j-1', 'c-0')],
      [job(J.Completed, 6 * MIN, 'c-1')],
      ['remove:orphan'],
    ],
    [
      'a stopped runner of a job that finished elsewhere, past the grace',
      [record(S.Stopped, 6 * MIN, 'j-1', 'c-0')],
      [job(J.Completed, 6 * MIN, 'c-1')],
      ['remove:orphan'],
    ],
    ['a jobless created container, past the orphan age', [record(S.Created, 61 * MIN)], [], ['remove:orphan']],
    ['a jobless created container, younger', [record(S.Created, 59 * MIN)], [], []],
    ['a jobless stopped container, past the stopped age', [record(S.Stopped, 61 * MIN)], [], ['remove:stopped']],
    ['a jobless container in error, past the stopped age', [record(S.Error, 61 * MIN)], [], ['remove:stopped']],
    ['a jobless running container made through the API', [record(S.Running, 600 * MIN)], [], []],
    [
      'a running container adopted from the engine, past the orphan age',
      [{ ...record(S.Running, 61 * MIN), stateReason: 'adopted: labelled container on the engine with no record' }],
      [],
      ['remove:orphan:force'],
    ],
    [
      'a running container adopted from the engine, younger',
      [{ ...record(S.Running, 59 * MIN), stateReason: 'adopted: labelled container on the engine with no record' }],
      [],
      [],
    ],
    ['a record stuck in STOPPING', [record(S.Stopping, 11 * MIN)], [], ['resolve:stuck']],
    ['a record briefly in STARTING', [record(S.Starting, 1 * MIN)], [], []],
    ['a removed record', [record(S.Removed, 600 * MIN)], [], []],
  ])('%s', (_title, records, jobs, expected) => {
    expect(decide(records, jobs)).toEqual(expected);
  });

  it("removes failed jobs' containers after the grace when preservation is off", () => {
    const off = { ...settings, preserveFailed: false };
    expect(decide([record(S.Stopped, 6 * MIN, 'j-1')], [job(J.Failed, 6 * MIN)], [], off)).toEqual(['remove:failed']);
    expect(decide([record(S.Stopped, 4 * MIN, 'j-1')], [job(J.Failed, 4 * MIN)], [], off)).toEqual([]);
  });

  it('adopts and removes labelled engine containers no record knows, once they are old enough', () => {
    const engine = [
      { engineName: 'default', engineId: 'e-x', name: 'stray-old', running: true, created: ago(61 * MIN) },
      { engineName: 'default', engineId: 'e-y', name: 'stray-new', running: false, created: ago(1 * MIN) },
      { engineName: 'default', engineId: 'e-c-1', name: 'runner-c-1', running: true, created: ago(600 * MIN) },
    ];
    expect(decide([record(S.Running, 600 * MIN, 'j-1')], [job(J.Running, null)], engine)).toEqual([
      'adopt-and-remove:orphan',
    ]);
  });

  it('gives every action a reason a person can read', () => {
    const [action] = decideCleanup({
      records: [record(S.Stopped, 6 * MIN, 'j-1')],
      engineContainers: [],
      jobs: [job(J.Completed, 6 * MIN)],
      now: NOW,
      settings,
    });
    expect(action).toMatchObject({ containerId: 'c-1', reason: 'its job completed 6 min ago' });
  });
});
