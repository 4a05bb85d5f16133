import { ContainerState as S } from './container-state';

/**
 * The one table of legal lifecycle moves. Everything that changes a container's state asks it first, so the API,
 * the reconciler and the cleanup policies can never disagree about what may happen next.
 *
 * CREATING -> CREATED -> STARTING -> RUNNING -> STOPPING -> STOPPED -> REMOVING -> REMOVED; any state but REMOVED may
 * fall into ERROR; a process that exits by itself takes RUNNING straight to STOPPED; ERROR may still be removed.
 */
const TRANSITIONS: Readonly<Record<S, readonly S[]>> = {
  [S.Creating]: [S.Created, S.Error],
  [S.Created]: [S.Starting, S.Removing, S.Error],
  [S.Starting]: [S.Running, S.Stopped, S.Error],
  [S.Running]: [S.Stopping, S.Stopped, S.Error],
  [S.Stopping]: [S.Stopped, S.Error],
  [S.Stopped]: [S.Starting, S.Removing, S.Error],
  [S.Removing]: [S.Removed, S.Error],
  [S.Removed]: [],
  [S.Error]: [S.Removing],
};

export function canTransition(from: S, to: S): boolean {
  return TRANSITIONS[from].includes(to);
}

export function allowedTransitions(from: S): readonly S[] {
  return TRANSITIONS[from];
}
