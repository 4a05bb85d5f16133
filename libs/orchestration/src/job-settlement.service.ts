import { ContainerState, JobState } from '@app/common';
import {
  ContainerRecordEntity,
  ContainerRecordRepository,
  JobEntity,
  JobRepository,
  RunnerStatus,
} from '@app/persistence';
import { Injectable } from '@nestjs/common';
import { GitHubJobLedger } from './github-job.ledger';
import { JobTransitions } from './job-transitions.service';
import { RunnerRegistrations } from './runner-registrations.service';

/** Container states in which the runner has ended, one way or another. */
const ENDED: ReadonlySet<ContainerState> = new Set([
  ContainerState.Stopped,
  ContainerState.Error,
  ContainerState.Removing,
  ContainerState.Removed,
]);

/**
 * What a runner container's end means for its job. A job from GitHub is GitHub's to settle (its `completed`
 * webhook), so the runner's end goes to the {@link GitHubJobLedger}; real runners exit 0 whatever the job's result.
 * A job queued through the API has no GitHub job behind it and keeps exit-code semantics: exit 0 completes it,
 * anything else fails it with the reason (`oom-killed`, the exit code, the engine's error). The container itself is
 * left for the cleanup policies, so a failed runner can still be looked at.
 */
@Injectable()
export class JobSettlement {
  constructor(
    private readonly transitions: JobTransitions,
    private readonly containers: ContainerRecordRepository,
    private readonly jobs: JobRepository,
    private readonly registrations: RunnerRegistrations,
    private readonly ledger: GitHubJobLedger,
  ) {}

  /** Settles the job of this container if the container has ended; returns whether it did. */
  async settleFromContainer(containerId: string): Promise<boolean> {
    const container = await this.containers.findById(containerId);
    if (!container?.jobId || !ENDED.has(container.state)) return false;
    // Containers made through POST /api/containers may name any job id: only the queue's own jobs are settled.
    const job = await this.jobs.findById(container.jobId);
    if (!job) return false;
    if (job.githubJobId) {
      // The runner whose container this is; a container that merely names a runner does not speak for it.
      const runner = await this.registrations.findByContainerId(container.id);
      if (runner) await this.registrations.markStatus(runner.id, RunnerStatus.Offline);
      await this.ledger.runnerEnded(container);
      return true;
    }
    if (job.containerId !== container.id) return false;
    return this.settle(job.id, container);
  }

  private async settle(jobId: string, container: ContainerRecordEntity): Promise<boolean> {
    const succeeded = container.state === ContainerState.Stopped && container.exitCode === 0;
    const finishedAt = new Date();
    const settled: JobEntity | null = succeeded
      ? await this.transitions.move(jobId, {
          to: JobState.Completed,
          from: [JobState.Running],
          changes: { finishedAt },
          reason: 'runner exited with code 0',
        })
      : await this.transitions.move(jobId, {
          to: JobState.Failed,
          from: [JobState.Running],
          changes: { finishedAt, failureReason: failureOf(container), failureCode: 'RUNNER_FAILED' },
          reason: failureOf(container),
        });
    if (container.runnerId) {
      await this.registrations.markStatus(container.runnerId, RunnerStatus.Offline);
      // A runner that did not finish its job cleanly may still be listed on GitHub: take it off now rather than when
      // its container is finally removed (a failed one may be kept for a day).
      if (!succeeded) await this.registrations.release(container.runnerId, 'its job failed');
    }
    return settled !== null;
  }
}

function failureOf(container: ContainerRecordEntity): string {
  if (container.stateReason === 'oom-killed') return 'oom-killed';
  if (container.state === ContainerState.Stopped) return `runner exited with code ${container.exitCode ?? 'unknown'}`;
  if (container.state === ContainerState.Error) return container.stateReason ?? 'runner container failed';
  return `runner container ${container.state} before the job finished`;
}
