import { DeliveryOutcome, GitHubDeliveryRepository, JobRepository, TransactionRunner } from '@app/persistence';
import { Injectable, Logger } from '@nestjs/common';
import { JobIntake } from './job-intake.service';
import { GitHubJobLedger } from './github-job.ledger';
import { parseWorkflowJob, WorkflowJobEvent } from './workflow-job.payload';

export interface WebhookDelivery {
  /** `X-GitHub-Delivery` */
  deliveryId: string;
  /** `X-GitHub-Event` */
  event: string;
  payload: unknown;
}

export interface DeliveryReceipt {
  deliveryId: string;
  /** This delivery id was handled before; nothing was done this time. */
  duplicate: boolean;
  outcome: DeliveryOutcome;
  jobId: string | null;
  detail: string;
}

/**
 * GitHub's `workflow_job` webhooks, once their signature has been checked: `queued` queues a job this RunnerHub
 * serves, `in_progress` marks it running, `completed` finishes it (or withdraws it, when GitHub finished it before a
 * runner of ours started). Idempotent twice over: per delivery id (a redelivery is answered from the record) and
 * per workflow job id (a second `queued` for the same job queues nothing).
 */
@Injectable()
export class WorkflowJobIntake {
  private readonly logger = new Logger(WorkflowJobIntake.name);

  constructor(
    private readonly deliveries: GitHubDeliveryRepository,
    private readonly jobs: JobRepository,
    private readonly transactions: TransactionRunner,
    private readonly intake: JobIntake,
    private readonly ledger: GitHubJobLedger,
  ) {}

  async handle(delivery: WebhookDelivery): Promise<DeliveryReceipt> {
    const seen = await this.previously(delivery.deliveryId);
    if (seen) return seen;
    try {
      return await this.process(delivery);
    } catch (error) {
      // The same delivery, handled at the same moment by another request or replica, won the insert.
      const raced = await this.previously(delivery.deliveryId);
      if (raced) return raced;
      throw error;
    }
  }

  private async previously(deliveryId: string): Promise<DeliveryReceipt | null> {
    const seen = await this.deliveries.find(deliveryId);
    return seen ? { deliveryId, duplicate: true, outcome: seen.outcome, jobId: null, detail: seen.detail ?? '' } : null;
  }

  private async process(delivery: WebhookDelivery): Promise<DeliveryReceipt> {
    if (delivery.event !== 'workflow_job') {
      return this.finish(delivery, null, 'ignored', null, `${delivery.event} events are not used`);
    }
    const event = parseWorkflowJob(delivery.payload);
    switch (event.action) {
      case 'queued':
        return this.queue(delivery, event);
      case 'in_progress':
        return this.markRunning(delivery, event);
      case 'completed':
        return this.complete(delivery, event);
      default:
        return this.finish(delivery, event, 'ignored', null, `action ${event.action} needs nothing`);
    }
  }

  private async queue(delivery: WebhookDelivery, event: WorkflowJobEvent): Promise<DeliveryReceipt> {
    const refusal = this.intake.refusal(event);
    if (refusal) {
      this.logger.log(`Workflow job ${event.githubJobId} of ${event.repository} ignored: ${refusal.message}`);
      return this.finish(delivery, event, 'ignored', null, refusal.message);
    }
    const outcome = await this.transactions.run(async (manager) => {
      const known = await this.jobs.findByGithubJobId(event.githubJobId, manager);
      const job = known ?? (await this.intake.admit(this.requestOf(event), manager));
      const detail = known ? `workflow job already queued as job ${known.id}` : `queued as job ${job.id}`;
      await this.deliveries.record(this.recordOf(delivery, event, known ? 'ignored' : 'queued', detail), manager);
      return { job, created: !known, detail };
    });
    if (outcome.created) this.intake.announce(outcome.job, `workflow job ${event.githubJobId} queued on GitHub`);
    return this.receipt(delivery, outcome.created ? 'queued' : 'ignored', outcome.job.id, outcome.detail);
  }

  /** The runner GitHub names is the one that runs the job, whichever job RunnerHub made it for. */
  private async markRunning(delivery: WebhookDelivery, event: WorkflowJobEvent): Promise<DeliveryReceipt> {
    const job = await this.jobs.findByGithubJobId(event.githubJobId);
    if (!job) return this.finish(delivery, event, 'ignored', null, 'not a job of this RunnerHub');
    await this.ledger.started(job, event.runnerName);
    const where = event.runnerName ? ` on runner ${event.runnerName}` : '';
    return this.finish(delivery, event, 'updated', job.id, `job ${job.id} in progress${where}`);
  }

  /** GitHub's conclusion settles the job: success completes it, failure fails it, cancelled cancels it. */
  private async complete(delivery: WebhookDelivery, event: WorkflowJobEvent): Promise<DeliveryReceipt> {
    const job = await this.jobs.findByGithubJobId(event.githubJobId);
    if (!job) return this.finish(delivery, event, 'ignored', null, 'not a job of this RunnerHub');
    const conclusion = event.conclusion ?? 'unknown';
    await this.ledger.completed(job, conclusion, event.runnerName);
    return this.finish(delivery, event, 'updated', job.id, `job ${job.id} completed on GitHub (${conclusion})`);
  }

  private async finish(
    delivery: WebhookDelivery,
    event: WorkflowJobEvent | null,
    outcome: DeliveryOutcome,
    jobId: string | null,
    detail: string,
  ): Promise<DeliveryReceipt> {
    await this.transactions.run((manager) =>
      this.deliveries.record(this.recordOf(delivery, event, outcome, detail), manager),
    );
    return this.receipt(delivery, outcome, jobId, detail);
  }

  private receipt(
    delivery: WebhookDelivery,
    outcome: DeliveryOutcome,
    jobId: string | null,
    detail: string,
  ): DeliveryReceipt {
    return { deliveryId: delivery.deliveryId, duplicate: false, outcome, jobId, detail };
  }

  private recordOf(
    delivery: WebhookDelivery,
    event: WorkflowJobEvent | null,
    outcome: DeliveryOutcome,
    detail: string,
  ) {
    return {
      deliveryId: delivery.deliveryId,
      event: delivery.event,
      action: event?.action ?? null,
      githubJobId: event?.githubJobId ?? null,
      outcome,
      detail,
    };
  }

  private requestOf(event: WorkflowJobEvent) {
    return {
      repository: event.repository,
      labels: event.labels,
      githubJobId: event.githubJobId,
      githubRunId: event.githubRunId,
    };
  }
}
