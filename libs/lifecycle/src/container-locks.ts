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
    const previous = this.tails.get(containerId) ?? Promise.resolve();
    const result = previous.then(work, work);
    const tail = result.then(
      () => undefined,
      () => undefined,
    );
    this.tails.set(containerId, tail);
    // Forget the queue once it drains, so the map holds only containers with work in flight.
    void tail.then(() => {
      if (this.tails.get(containerId) === tail) this.tails.delete(containerId);
    });
    return result;
  }

  /** Containers with work queued or running; for tests and metrics. */
  get busy(): number {
    return this.tails.size;
  }
}
