import { DomainError, ErrorCode, JobState } from '@app/common';
import { ContainerLifecycleManager } from '@app/lifecycle';
import { JobEntity, JobRepository, Page } from '@app/persistence';
import { Injectable, Logger } from '@nestjs/common';
import { JobIntake, JobRequest } from './job-intake.service';
import { JobTransitions } from './job-transitions.service';
import { RunnerRegistrations } from './runner-registrations.service';
import { DeliveryReceipt, WebhookDelivery, WorkflowJobIntake } from './workflow-job-intake.service';

/** Seconds a cancelled job's runner gets to stop before it is killed. */
const CANCEL_STOP_TIMEOUT_SECONDS = 10;

/**
 * The high-level service the spec calls ContainerOrchestratorV2: the one place that coordinates jobs, runners and
 * the lifecycle manager. Controllers call it, never the engine; the dispatcher and the listeners do the rest.
 */
@Injectable()
export class ContainerOrchestrator {
  private readonly logger = new Logger(ContainerOrchestrator.name);

  constructor(
    private readonly jobs: JobRepository,
    private readonly intake: JobIntake,
    private readonly webhooks: WorkflowJobIntake,
    private readonly transitions: JobTransitions,
    private readonly lifecycle: ContainerLifecycleManager,
    private readonly registrations: RunnerRegistrations,
  ) {}

  async submitJob(request: JobRequest, actor: string): Promise<JobEntity> {
    const job = await this.intake.admit(request);
    this.intake.announce(job, `submitted by ${actor}`);
    return job;
  }

  receiveWebhook(delivery: WebhookDelivery): Promise<DeliveryReceipt> {
    return this.webhooks.handle(delivery);
  }

  async getJob(id: string): Promise<JobEntity> {
    const job = await this.jobs.findById(id);
    if (!job) throw new DomainError(ErrorCode.NotFound, `Job ${id} does not exist`, { id });
    return job;
  }

  listJobs(filter: { state?: JobState; repository?: string }, page: Page) {
    return this.jobs.list(filter, page);
  }

  /**
   * Cancels a job that has not finished. Its runner container, if it has one, is stopped (and left to the cleanup
   * policies), and its runner is taken off GitHub so that it cannot pick up work.
   */
  async cancelJob(id: string, actor: string): Promise<JobEntity> {
    const reason = `cancelled by ${actor}`;
    const cancelled = await this.transitions.moveOrRefuse(
      id,
      { to: JobState.Cancelled, changes: { finishedAt: new Date(), failureReason: reason }, reason },
      'be cancelled',
    );
    if (cancelled.containerId) {
      await this.lifecycle.stop(cancelled.containerId, CANCEL_STOP_TIMEOUT_SECONDS, actor).catch((error: unknown) => {
        // Already stopped or gone is fine; anything else is for the reconciler and the cleanup policies to finish.
        this.logger.warn(`Container ${cancelled.containerId} of cancelled job ${id} did not stop: ${String(error)}`);
      });
    }
    if (cancelled.runnerId) await this.registrations.release(cancelled.runnerId, reason);
    return cancelled;
  }
}
