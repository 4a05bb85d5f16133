import { Injectable } from '@nestjs/common';

/**
 * One queue per container: operations on the same container run one after another, on different containers in
 * parallel. Within one process this keeps a stop and a remove of one container from interleaving; across replicas the
 * record's version column refuses whichever writer comes second.
 */
@Injectable()
export class ContainerLocks {
  private readonly tails = new Map<string, Promise<unknown>>();

  run<T>(containerId: string, work: () => Promise<T>): Promise<T> {
    return this.runAll([containerId], work);
  }

  /**
   * Runs `work` once it holds the lock of every container named, all taken at the same instant (so two batches
   * can never each hold half of the other's), and holds them until it settles: a batch of removals and a single
   * call on one of its containers still run one after the other.
   */
  runAll<T>(containerIds: string[], work: () => Promise<T>): Promise<T> {
    const ids = [...new Set(containerIds)];
    const previous = Promise.all(ids.map((id) => this.tails.get(id) ?? Promise.resolve()));
    const result = previous.then(work, work);
    const tail = result.then(
      () => undefined,
      () => undefined,
    );
    for (const id of ids) {
      this.tails.set(id, tail);
      // Forget the queue once it drains, so the map holds only containers with work in flight.
      void tail.then(() => {
        if (this.tails.get(id) === tail) this.tails.delete(id);
      });
    }
    return result;
  }

  /** Containers with work queued or running; for tests and metrics. */
  get busy(): number {
    return this.tails.size;
  }
}
