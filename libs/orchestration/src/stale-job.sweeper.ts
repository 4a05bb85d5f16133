import { AppConfig, ContainerState, JobState } from '@app/common';
import { ContainerRecordEntity, ContainerRecordRepository, JobEntity, JobRepository } from '@app/persistence';
import { Injectable, Logger } from '@nestjs/common';
import { GitHubJobLedger } from './github-job.ledger';
import { JobSettlement } from './job-settlement.service';
import { JobTransitions } from './job-transitions.service';
import { RunnerRegistrations } from './runner-registrations.service';
import { RunnerContainerRemover } from './runner-container.remover';

/** A container in these states never ran its runner. */
const NEVER_STARTED: ReadonlySet<ContainerState> = new Set([ContainerState.Creating, ContainerState.Created]);

/**
 * Repairs jobs whose news was lost: a replica that died while making a runner leaves its job ASSIGNED, and a
 * container that ended while no one was listening (a restart, a dropped event stream) leaves its job RUNNING.
 * The engine's truth, through the container records the reconciler keeps, decides what became of each.
 */
@Injectable()
export class StaleJobSweeper {
  private readonly logger = new Logger(StaleJobSweeper.name);

  constructor(
    private readonly config: AppConfig,
    private readonly jobs: JobRepository,
    private readonly containers: ContainerRecordRepository,
    private readonly transitions: JobTransitions,
    private readonly settlement: JobSettlement,
    private readonly registrations: RunnerRegistrations,
    private readonly runnerContainers: RunnerContainerRemover,
    private readonly ledger: GitHubJobLedger,
  ) {}

  /** When GitHub was last asked about each overdue job. */
  private readonly askedAt = new Map<string, number>();

  async sweep(isProvisioningHere: (jobId: string) => boolean): Promise<void> {
    const cutoff = Date.now() - this.config.orchestration.assignTimeoutMs;
    for (const job of await this.jobs.findInStates([JobState.Assigned, JobState.Running])) {
      if (job.githubJobId) await this.askIfOverdue(job);
      if (job.state === JobState.Running) {
        // A GitHub job is settled by GitHub, not by its container: askIfOverdue covers a lost verdict.
        if (!job.githubJobId) await this.checkRunning(job);
      } else if (!isProvisioningHere(job.id) && (job.assignedAt?.getTime() ?? 0) < cutoff) {
        await this.recoverAssigned(job);
      }
    }
    await this.registrations.releaseAbandoned(
      new Date(cutoff),
      async (runner) => (await this.jobs.findActiveByRunnerId(runner.id)).length > 0,
    );
    this.forgetSettled();
  }

  /**
   * GitHub's `completed` (or `in_progress`) webhook can be lost: a GitHub job with no news for JOB_COMPLETION_TIMEOUT_MS
   * is looked up in GitHub's REST API, at most once per that period.
   */
  private async askIfOverdue(job: JobEntity): Promise<void> {
    const timeout = this.config.runners.completionTimeoutMs;
    const lastNews = Math.max(job.updatedAt.getTime(), this.askedAt.get(job.id) ?? 0);
    if (Date.now() - lastNews < timeout) return;
    this.askedAt.set(job.id, Date.now());
    await this.ledger.reconcile(job);
  }

  /** Keeps the ask times of unfinished jobs only. */
  private forgetSettled(): void {
    if (this.askedAt.size < 1000) return;
    const horizon = Date.now() - 2 * this.config.runners.completionTimeoutMs;
    for (const [jobId, at] of this.askedAt) if (at < horizon) this.askedAt.delete(jobId);
  }

  private async checkRunning(job: JobEntity): Promise<void> {
    const container = await this.containerOf(job);
    if (container) {
      await this.settlement.settleFromContainer(container.id);
      return;
    }
    await this.transitions.move(job.id, {
      to: JobState.Failed,
      from: [JobState.Running],
      changes: { finishedAt: new Date(), failureReason: 'runner container vanished' },
      reason: 'runner container vanished',
    });
  }

  private async recoverAssigned(job: JobEntity): Promise<void> {
    const container = await this.containerOf(job);
    if (container && NEVER_STARTED.has(container.state)) {
      // Made but never started: nothing ran, so the job starts over with a runner of its own.
      await this.runnerContainers.remove(container.id, 'orchestrator', 'runner withdrawn: its job is queued again');
    } else if (container && container.state !== ContainerState.Removed && job.githubJobId) {
      // A GitHub job's runner exists: the job waits for GitHub to hand it to a runner, as any assigned job does.
      await this.transitions.annotate(job.id, JobState.Assigned, {
        containerId: container.id,
        runnerId: container.runnerId,
      });
      await this.settlement.settleFromContainer(container.id);
      return;
    } else if (container && container.state !== ContainerState.Removed) {
      // The runner got as far as a container: carry on from what the engine says it did.
      this.logger.warn(`Job ${job.id} was left ASSIGNED with container ${container.id}; taking it as started`);
      await this.transitions.move(job.id, {
        to: JobState.Running,
        from: [JobState.Assigned],
        changes: { containerId: container.id, runnerId: container.runnerId, startedAt: new Date() },
        reason: 'recovered: its runner container exists',
      });
      await this.settlement.settleFromContainer(container.id);
      return;
    }
    this.logger.warn(`Job ${job.id} was left ASSIGNED without a runner container; queueing it again`);
    const requeued = await this.transitions.move(job.id, {
      to: JobState.Queued,
      from: [JobState.Assigned],
      changes: { runnerId: null, containerId: null, assignedAt: null, availableAt: null },
      reason: 'recovered: the replica making its runner stopped',
    });
    if (requeued && job.runnerId) await this.registrations.release(job.runnerId, 'its job was queued again');
  }

  private async containerOf(job: JobEntity): Promise<ContainerRecordEntity | null> {
    if (job.containerId) return this.containers.findById(job.containerId);
    // Earlier tries may have left removed containers behind: the one still standing is the job's.
    const { items } = await this.containers.list({ jobId: job.id }, { limit: 10, offset: 0 });
    return items.find((container) => container.state !== ContainerState.Removed) ?? items[0] ?? null;
  }
}
