import type { ResourceUsage } from '@app/docker';
import { Injectable } from '@nestjs/common';

/** The latest that monitoring knows of one running container. */
export interface ContainerUsageSnapshot {
  containerId: string;
  name: string;
  repository: string | null;
  jobId: string | null;
  /** The latest resource sample; null until the first round reached this container. */
  usage: ResourceUsage | null;
  /** The image's own HEALTHCHECK status (`starting`, `healthy`, `unhealthy`), null when the image has none. */
  health: string | null;
}

/**
 * The latest sample of every running container, kept in memory between rounds: what the API's `resourceUsage`,
 * the usage summary and the Prometheus gauges read, so none of them waits for the engine.
 */
@Injectable()
export class LatestUsageStore {
  private readonly snapshots = new Map<string, ContainerUsageSnapshot>();

  get(containerId: string): ContainerUsageSnapshot | undefined {
    return this.snapshots.get(containerId);
  }

  all(): ContainerUsageSnapshot[] {
    return [...this.snapshots.values()];
  }

  /** Merges what is given into the container's snapshot. */
  update(
    snapshot: Pick<ContainerUsageSnapshot, 'containerId' | 'name' | 'repository' | 'jobId'> &
      Partial<ContainerUsageSnapshot>,
  ) {
    const previous = this.snapshots.get(snapshot.containerId);
    this.snapshots.set(snapshot.containerId, { usage: null, health: null, ...previous, ...snapshot });
  }

  /** Keeps only these containers: the others stopped running, and their figures must not linger in gauges. */
  retainOnly(containerIds: ReadonlySet<string>): void {
    for (const id of this.snapshots.keys()) if (!containerIds.has(id)) this.snapshots.delete(id);
  }

  forget(containerId: string): void {
    this.snapshots.delete(containerId);
  }
}
