/** Where a runner container is in its life. Stored as these lowercase strings, which the API also shows. */
export enum ContainerState {
  Creating = 'creating',
  Created = 'created',
  Starting = 'starting',
  Running = 'running',
  Stopping = 'stopping',
  Stopped = 'stopped',
  Removing = 'removing',
  Removed = 'removed',
  Error = 'error',
}

export const CONTAINER_STATES: readonly ContainerState[] = Object.values(ContainerState);

/** States a crash can leave a record in: the reconciler resolves them from what the engine shows. */
export const TRANSITIONAL_STATES: ReadonlySet<ContainerState> = new Set([
  ContainerState.Creating,
  ContainerState.Starting,
  ContainerState.Stopping,
  ContainerState.Removing,
]);

/** States whose container may be holding a process on the engine (what MAX_CONCURRENT_CONTAINERS counts). */
export const LIVE_STATES: ReadonlySet<ContainerState> = new Set([
  ContainerState.Creating,
  ContainerState.Created,
  ContainerState.Starting,
  ContainerState.Running,
  ContainerState.Stopping,
]);
