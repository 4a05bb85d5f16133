import { ContainerState as S } from '@app/common';
import { cleanupPolicyOf, firstQueueWaitSeconds, terminationAlert } from './metric-classification';

describe(terminationAlert.name, () => {
  const stopped = (previousState: S | null, exitCode: number | null) => ({ previousState, state: S.Stopped, exitCode });

  it('counts every move to ERROR (engine failure, OOM kill, a container that vanished)', () => {
    for (const from of [S.Creating, S.Starting, S.Running, S.Stopping, S.Removing]) {
      expect(terminationAlert({ previousState: from, state: S.Error, exitCode: null })).toBe('error');
    }
    expect(terminationAlert({ previousState: S.Running, state: S.Error, exitCode: 137 })).toBe('error');
  });

  it('does not count a stop somebody asked for: STOPPED through STOPPING, whatever the exit code', () => {
    for (const exitCode of [0, 137, 143, null]) expect(terminationAlert(stopped(S.Stopping, exitCode))).toBeNull();
  });

  it('counts a process that ended on its own or was killed outside RunnerHub, with a non-zero exit', () => {
    expect(terminationAlert(stopped(S.Running, 1))).toBe('stopped');
    expect(terminationAlert(stopped(S.Running, 137))).toBe('stopped'); // docker kill
    expect(terminationAlert(stopped(S.Running, 143))).toBe('stopped'); // docker stop from outside
    expect(terminationAlert(stopped(S.Starting, 127))).toBe('stopped'); // exited while starting
    expect(terminationAlert(stopped(S.Running, null))).toBe('stopped'); // exit unknown: assume the worst
  });

  it('does not count a process that finished its work (exit 0), nor a record adopted as stopped', () => {
    expect(terminationAlert(stopped(S.Running, 0))).toBeNull();
    expect(terminationAlert(stopped(null, 1))).toBeNull();
  });

  it('ignores every other state', () => {
    for (const state of [S.Created, S.Starting, S.Running, S.Stopping, S.Removing, S.Removed]) {
      expect(terminationAlert({ previousState: S.Running, state, exitCode: 1 })).toBeNull();
    }
  });
});

describe(cleanupPolicyOf.name, () => {
  it('takes the policy named after `cleanup:`', () => {
    expect(cleanupPolicyOf('cleanup:orphan')).toBe('orphan');
    expect(cleanupPolicyOf('cleanup:completed-grace')).toBe('completed-grace');
    expect(cleanupPolicyOf('cleanup:Stopped_Age')).toBe('stopped_age');
  });

  it('keeps only the leading word, so details cannot multiply the series', () => {
    expect(cleanupPolicyOf('cleanup:orphan (no record for 2h)')).toBe('orphan');
    expect(cleanupPolicyOf('cleanup:failed; retention 86400000 ms')).toBe('failed');
  });

  it('is null for removals cleanup did not ask for', () => {
    for (const reason of ['removal requested', 'removed from the engine', 'cleanup:', 'pre-cleanup:orphan', '']) {
      expect(cleanupPolicyOf(reason)).toBeNull();
    }
  });
});

describe(firstQueueWaitSeconds.name, () => {
  const queuedAt = '2026-12-01T10:00:00.250Z';
  const at = (iso: string) => Date.parse(iso);

  it('is the time from queueing to the first assignment, to the millisecond', () => {
    expect(firstQueueWaitSeconds({ attempts: 0, queuedAt }, at('2026-12-01T10:00:01.500Z'))).toBe(1.25);
  });

  it('is null for a retry, which keeps its queuedAt but has an attempt behind it', () => {
    expect(firstQueueWaitSeconds({ attempts: 1, queuedAt }, at('2026-12-01T10:05:00.000Z'))).toBeNull();
    expect(firstQueueWaitSeconds({ attempts: 2, queuedAt }, at('2026-12-01T10:05:00.000Z'))).toBeNull();
  });

  it('is never negative, and null when queuedAt cannot be read', () => {
    expect(firstQueueWaitSeconds({ attempts: 0, queuedAt }, at('2026-12-01T10:00:00.000Z'))).toBe(0);
    expect(firstQueueWaitSeconds({ attempts: 0, queuedAt: 'soon' }, Date.now())).toBeNull();
  });
});
