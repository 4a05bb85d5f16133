import { errorMessage } from '@app/common';
import { ContainerLifecycleManager } from '@app/lifecycle';
import { Injectable, Logger } from '@nestjs/common';

/**
 * Force-removes the container of a runner no job will use: withdrawn before its job started, retired from its pool,
 * or left behind by a start that failed. Best effort: the caller goes on with what it was doing (releasing the
 * registration, queueing the job again), so a failure is logged with the reason the container was to go, never thrown.
 */
@Injectable()
export class RunnerContainerRemover {
  private readonly logger = new Logger(RunnerContainerRemover.name);

  constructor(private readonly lifecycle: ContainerLifecycleManager) {}

  async remove(containerId: string, actor: string, reason: string): Promise<void> {
    try {
      await this.lifecycle.remove(containerId, { force: true }, actor, reason);
    } catch (error) {
      this.logger.warn(`Container ${containerId} could not be removed (${reason}): ${errorMessage(error)}`);
    }
  }
}
