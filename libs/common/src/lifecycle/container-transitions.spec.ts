import { ContainerState as S, CONTAINER_STATES } from './container-state';
import { allowedTransitions, canTransition } from './container-transitions';

describe('container transition table', () => {
  it('allows the documented happy path, step by step', () => {
    const path = [S.Creating, S.Created, S.Starting, S.Running, S.Stopping, S.Stopped, S.Removing, S.Removed];
    for (let i = 1; i < path.length; i++) expect(canTransition(path[i - 1], path[i])).toBe(true);
  });

  it('lets every state but REMOVED fall into ERROR, and ERROR only be removed', () => {
    for (const state of CONTAINER_STATES) {
      expect(canTransition(state, S.Error)).toBe(state !== S.Removed && state !== S.Error);
    }
    expect(allowedTransitions(S.Error)).toEqual([S.Removing]);
  });

  it('takes a process that exits by itself from RUNNING straight to STOPPED', () => {
    expect(canTransition(S.Running, S.Stopped)).toBe(true);
  });

  it('never leaves REMOVED, and never skips the REMOVING step', () => {
    expect(allowedTransitions(S.Removed)).toEqual([]);
    for (const state of CONTAINER_STATES) {
      if (state !== S.Removing) expect(canTransition(state, S.Removed)).toBe(false);
    }
  });

  it('refuses to run a container that was never started or is being removed', () => {
    expect(canTransition(S.Created, S.Running)).toBe(false);
    expect(canTransition(S.Removing, S.Running)).toBe(false);
    expect(canTransition(S.Stopping, S.Running)).toBe(false);
  });
});
