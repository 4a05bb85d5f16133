import { errorMessage, JobState } from '@app/common';
import {
  ContainerRecordEntity,
  ContainerRecordRepository,
  JobEntity,
  JobRepository,
  PoolRunnerRepository,
  RunnerEntity,
} from '@app/persistence';
import { Injectable, Logger } from '@nestjs/common';
import { GitHubRunnerRegistry } from './github';
import { JobRetryPolicy } from './job-retry.policy';
import { JobTransitions } from './job-transitions.service';
import { RunnerImageFamilies } from './runner-images';
import { RunnerProfiles } from './runner-profiles';
import { RunnerRegistrations } from './runner-registrations.service';
import { RunnerContainerRemover } from './runner-container.remover';
import { PoolHandoff } from './pools/pool-handoff.service';

export const LEDGER_ACTOR = 'github';

/** GitHub's conclusions that mean the job did what it should (`skipped` and `neutral` are not failures). */
const SUCCESSFUL = new Set(['success', 'neutral', 'skipped']);

/** Job states in which a job may still get (or be) the job of a runner. */
const UNFINISHED: readonly JobState[] = [JobState.Queued, JobState.Assigned, JobState.Running];

/**
 * GitHub is the truth about jobs. GitHub gives a queued job to ANY idle runner whose labels match, so the runner made
 * for job A may run job B: `workflow_job` in_progress (its `runner_name`) links a job to the runner that really runs
 * it, and `completed` (its `conclusion`) settles it. A runner's exit ends the runner, not the job: a runner that ends
 * without GitHub having given it a job was unused (its job gets another runner), one that ran a job waits for GitHub's
 * verdict, asked of the REST API when the webhook never comes.
 *
 * The ledger keeps one rule: every unfinished job points at no more than one runner, and every runner is pointed at
 * by no more than one unfinished job. When GitHub hands job J the runner X made for job K, J takes X, K takes the
 * runner J no longer needs (if it fits K's labels and profile) or is queued for a new one, and a runner nobody needs
 * any more is withdrawn from GitHub and removed (a warm pool's runner goes back to its pool instead).
 */
@Injectable()
export class GitHubJobLedger {
  private readonly logger = new Logger(GitHubJobLedger.name);

  constructor(
    private readonly jobs: JobRepository,
    private readonly containers: ContainerRecordRepository,
    private readonly transitions: JobTransitions,
    private readonly registrations: RunnerRegistrations,
    private readonly registry: GitHubRunnerRegistry,
    private readonly runnerContainers: RunnerContainerRemover,
    private readonly retryPolicy: JobRetryPolicy,
    private readonly profiles: RunnerProfiles,
    private readonly families: RunnerImageFamilies,
    private readonly poolRunners: PoolRunnerRepository,
    private readonly poolHandoff: PoolHandoff,
  ) {}

  /** GitHub says the job runs on `runnerName` (in_progress, or the runner named by a completed job). */
  async started(job: JobEntity, runnerName: string | null): Promise<JobEntity> {
    if (job.githubRunnerName && job.githubRunnerName === runnerName) return job;
    const runner = runnerName ? await this.registrations.findByName(runnerName) : null;
    const reason = runnerName
      ? `GitHub reports the job in progress on ${runner ? 'runner' : 'runner (not made by this RunnerHub)'} ${runnerName}`
      : 'GitHub reports the job in progress';
    const changes = {
      githubRunnerName: runnerName,
      ...(runnerName ? { runnerId: runner?.id ?? null, containerId: runner?.containerId ?? null } : {}),
      ...(runner ? await this.placementOf(runner.containerId) : {}),
    };
    const linked =
      (await this.transitions.move(job.id, {
        to: JobState.Running,
        from: [JobState.Queued, JobState.Assigned],
        changes: { ...changes, startedAt: new Date() },
        reason,
      })) ?? (await this.transitions.annotate(job.id, JobState.Running, changes));
    if (!linked) return (await this.jobs.findById(job.id)) ?? job;
    const handed = await this.registrations.findByJobId(job.id);
    const previous = job.runnerId && job.runnerId !== runner?.id ? job.runnerId : null;
    const others = poolRunnersHanded(handed, [previous, runner?.id]);
    // GitHub gave the job an idle pool runner before any was handed it: the pool served it all the same.
    const untouched = runner?.pool && !runner.jobId && !runner.githubJobId;
    if (untouched && !handed.some((other) => other.pool)) this.poolHandoff.noteTakenBy(job, runner);
    if (runner && runnerName) {
      await this.claimRunner(linked, runner, previous);
    } else if (previous) {
      await this.withdrawIfUnneeded(previous, `job ${job.id} runs on another runner`);
    }
    for (const other of others) await this.withdrawIfUnneeded(other, `job ${job.id} runs on another runner`);
    return linked;
  }

  /** GitHub's verdict on the job: its conclusion decides the job's final state. */
  async completed(job: JobEntity, conclusion: string, runnerName: string | null): Promise<JobEntity | null> {
    let current = job;
    if (runnerName) current = await this.started(job, runnerName);
    const finishedAt = new Date();
    if (current.state === JobState.Running) {
      return this.transitions.move(job.id, { ...finalMoveFor(conclusion), from: [JobState.Running] });
    }
    // GitHub finished the job before any runner took it (the run was cancelled, or it ran elsewhere).
    const why = `GitHub finished the job (${conclusion}) before it started here`;
    const cancelled = await this.transitions.move(job.id, {
      to: JobState.Cancelled,
      from: [JobState.Queued, JobState.Assigned],
      changes: { finishedAt, conclusion, failureReason: why },
      reason: why,
    });
    if (cancelled && current.runnerId) await this.withdrawIfUnneeded(current.runnerId, why);
    return cancelled;
  }

  /**
   * A runner's container ended. A runner that ran a GitHub job waits for GitHub's verdict on it. One that never got
   * a job was unused: GitHub is asked first (the in_progress webhook may be late or lost), then its job, if it still
   * waits, gets a new runner; a runner too old for GitHub has its image pulled again first.
   */
  async runnerEnded(container: ContainerRecordEntity): Promise<void> {
    const runner = await this.registrations.findByContainerId(container.id);
    if (!runner) return;
    if (runner.githubJobId) {
      // GitHub removes an ephemeral runner once its job is done; this confirms it, or removes one that died mid-job.
      await this.registrations.release(runner.id, 'its runner ended after its job');
      // The runner reports its job's result before it exits: GitHub has the verdict now, so a lost `completed`
      // webhook costs nothing rather than JOB_COMPLETION_TIMEOUT_MS of a job shown running.
      const [running] = (await this.jobs.findActiveByRunnerId(runner.id)).filter(
        (job) => job.state === JobState.Running && job.githubJobId === runner.githubJobId,
      );
      if (running) await this.reconcile(running);
      return;
    }
    const [job] = await this.jobs.findActiveByRunnerId(runner.id);
    if (!job?.githubJobId) {
      await this.registrations.release(runner.id, 'its container ended without a job');
      return;
    }
    const truth = await this.askGitHub(job);
    if (truth?.runnerName === runner.name) {
      await this.settleFromGitHub(job, truth);
      return;
    }
    if (truth?.runnerName && truth.status !== 'queued') {
      // GitHub gave the job to another runner (handing out jobs as it likes): the job needs no runner of its own.
      await this.settleFromGitHub(job, truth);
      await this.registrations.release(runner.id, `its job ${job.id} ran on ${truth.runnerName}`);
      return;
    }
    const exit = container.exitCode ?? -1;
    const outdated = this.families.current.exitKind(exit) === 'outdated';
    const ended = `runner ${runner.name} ended (${describeEnd(container)}) without GitHub giving it a job`;
    const removal = await this.registrations.release(runner.id, 'it ended without a job');
    if (removal === 'already-gone' && runner.githubRunnerId !== null && truth?.status === 'queued') {
      await this.requeueDisplaced(job, runner.name);
      return;
    }
    const decision = this.retryPolicy.decide(job.attempts, new Error(ended));
    const common = { runnerId: null, containerId: null, failureReason: decision.reason, refreshImage: outdated };
    const from = [JobState.Assigned];
    if (decision.retry) {
      await this.transitions.move(job.id, {
        to: JobState.Queued,
        from,
        changes: { ...common, availableAt: outdated ? null : decision.availableAt, assignedAt: null },
        reason: outdated ? `${ended}: its runner version is too old; the image is pulled again` : decision.reason,
      });
    } else {
      await this.transitions.move(job.id, {
        to: JobState.Failed,
        from,
        changes: { ...common, failureCode: 'RUNNER_UNUSED', finishedAt: new Date() },
        reason: decision.reason,
      });
    }
  }

  /**
   * The job's runner ended and GitHub had already removed it (its JIT registration, so it was registered), while the
   * job still waits: GitHub gave the runner another job, whose in_progress webhook has not arrived (webhooks spread
   * over replicas, and a short job ends first), or someone deleted it. Neither is the job's fault: it is queued for a
   * new runner at once and the try is not counted. This cannot spin: each such end is a runner GitHub consumed.
   */
  private async requeueDisplaced(job: JobEntity, runnerName: string): Promise<void> {
    await this.transitions.move(job.id, {
      to: JobState.Queued,
      from: [JobState.Assigned],
      changes: {
        runnerId: null,
        containerId: null,
        assignedAt: null,
        availableAt: null,
        attempts: Math.max(0, job.attempts - 1),
      },
      reason: `its runner ${runnerName} ended gone from GitHub while the job still waits (GitHub gave it another job, or it was deleted); a new runner is made, and this try does not count`,
    });
  }

  /** A GitHub job whose verdict is overdue: ask GitHub, and settle it if GitHub has one. */
  async reconcile(job: JobEntity): Promise<void> {
    const truth = await this.askGitHub(job);
    if (truth) await this.settleFromGitHub(job, truth);
  }

  private async settleFromGitHub(
    job: JobEntity,
    truth: { status: string; conclusion: string | null; runnerName: string | null },
  ): Promise<void> {
    if (truth.status === 'completed') {
      await this.completed(job, truth.conclusion ?? 'unknown', truth.runnerName);
    } else if (truth.status === 'in_progress' && truth.runnerName) {
      await this.started(job, truth.runnerName);
    }
  }

  private async askGitHub(job: JobEntity) {
    try {
      return await this.registry.getWorkflowJob(job.repository, job.githubJobId!);
    } catch (error) {
      this.logger.warn(`GitHub could not tell what became of job ${job.id}: ${errorMessage(error)}`);
      return null;
    }
  }

  /** Job J now runs on runner X: X serves nobody else; the job X was made for gets J's old runner or a new one. */
  private async claimRunner(job: JobEntity, runner: RunnerEntity, previous: string | null): Promise<void> {
    await this.registrations.markTaken(runner, job.githubJobId!).catch((error: unknown) => {
      this.logger.warn(`Runner ${runner.name} could not be marked busy: ${errorMessage(error)}`);
    });
    if (runner.containerId) await this.containers.reassignJob(runner.containerId, job.id);
    let spare = previous;
    for (const other of await this.jobs.findActiveByRunnerId(runner.id)) {
      if (other.id === job.id || other.githubRunnerName) continue;
      if (!other.githubJobId) {
        // A runner made for a job from the API serves whatever GitHub gives it: that job's purpose is served.
        await this.transitions.move(other.id, {
          to: JobState.Completed,
          from: [JobState.Assigned, JobState.Running],
          changes: { finishedAt: new Date() },
          reason: `its runner ${runner.name} ran GitHub job ${job.githubJobId}`,
        });
        continue;
      }
      const handedOver = spare ? await this.handOver(other, spare, runner.name, job.id) : false;
      if (handedOver) {
        spare = null;
        continue;
      }
      await this.transitions.move(other.id, {
        to: JobState.Queued,
        from: [JobState.Assigned],
        changes: { runnerId: null, containerId: null, assignedAt: null, availableAt: null },
        reason: `GitHub gave its runner ${runner.name} to job ${job.id}; it gets a runner of its own`,
      });
    }
    if (spare) await this.withdrawIfUnneeded(spare, `job ${job.id} runs on runner ${runner.name}`);
  }

  /** Gives job `other` the spare runner, if that runner still waits for a job and fits the job's labels and profile. */
  private async handOver(other: JobEntity, spareId: string, takenName: string, takerId: string): Promise<boolean> {
    const spare = await this.registrations.findById(spareId);
    if (!spare || spare.githubJobId || spare.deregisteredAt || !spare.containerId) return false;
    const labels = new Set(spare.labels.map((label) => label.toLowerCase()));
    const fits =
      other.labels.every((label) => labels.has(label.toLowerCase())) &&
      spare.profile === this.profiles.choose(other.labels).profile;
    if (!fits) return false;
    const moved = await this.transitions.annotate(other.id, JobState.Assigned, {
      runnerId: spare.id,
      containerId: spare.containerId,
      ...(await this.placementOf(spare.containerId)),
    });
    if (!moved) return false;
    await this.containers.reassignJob(spare.containerId, other.id);
    this.logger.log(`Job ${other.id} takes runner ${spare.name}: its own, ${takenName}, runs job ${takerId}`);
    return true;
  }

  /** Where a runner's container was placed: a job that takes the runner runs on that engine, whatever its own claim said. */
  private async placementOf(containerId: string | null): Promise<{ engineName?: string; placement?: string | null }> {
    const container = containerId ? await this.containers.findById(containerId) : null;
    return container ? { engineName: container.engineName, placement: container.placement } : {};
  }

  /** Takes a runner no unfinished job points at off GitHub and removes its container: it would wait forever. */
  private async withdrawIfUnneeded(runnerId: string, why: string): Promise<void> {
    const wanted = await this.jobs.findActiveByRunnerId(runnerId);
    if (wanted.some((job) => UNFINISHED.includes(job.state))) return;
    const runner = await this.registrations.findById(runnerId);
    if (!runner || runner.githubJobId) return;
    if (runner.pool && (await this.poolRunners.giveBack(runner))) {
      this.logger.log(`Runner ${runner.name} goes back to pool ${runner.pool}: ${why}`);
      return;
    }
    const removal = await this.registrations.release(runnerId, `no job needs it: ${why}`);
    // GitHub has just handed it a job (its webhook is on its way): the runner runs it and ends by itself.
    if (removal === 'busy' || !runner.containerId) return;
    await this.runnerContainers.remove(runner.containerId, LEDGER_ACTOR, `runner withdrawn: no job needs it (${why})`);
  }
}

/**
 * The pool runners handed the job (`handed`: the runners whose job it is, looked up after the job moved to the runner
 * GitHub named), other than `known`. A webhook's copy of the job can predate a hand-out committed since (the pool
 * hands a queued job out while GitHub already runs it elsewhere): without this, the runner handed it would serve a
 * finished job forever instead of going back to its pool. Each goes through withdrawIfUnneeded, which leaves alone a
 * runner an unfinished job still points at.
 */
function poolRunnersHanded(handed: RunnerEntity[], known: Array<string | null | undefined>): string[] {
  return handed
    .filter((runner) => runner.pool && !runner.githubJobId && !runner.deregisteredAt && !known.includes(runner.id))
    .map((runner) => runner.id);
}

/** The final state GitHub's conclusion calls for. */
function finalMoveFor(conclusion: string) {
  const finishedAt = new Date();
  const reason = `GitHub concluded the job: ${conclusion}`;
  if (SUCCESSFUL.has(conclusion)) {
    return { to: JobState.Completed, changes: { finishedAt, conclusion }, reason };
  }
  if (conclusion === 'cancelled') {
    return { to: JobState.Cancelled, changes: { finishedAt, conclusion, failureReason: reason }, reason };
  }
  return {
    to: JobState.Failed,
    changes: { finishedAt, conclusion, failureReason: reason, failureCode: 'JOB_FAILED' },
    reason,
  };
}

/** Exit codes the shell convention gives a command that could not run at all: a wrong command for the image. */
const COMMAND_PROBLEMS: Readonly<Record<number, string>> = {
  126: 'its command is not executable',
  127: 'its command was not found',
};

function describeEnd(container: ContainerRecordEntity): string {
  if (container.stateReason === 'oom-killed') return 'out of memory';
  if (container.exitCode === null) return container.state;
  const problem = COMMAND_PROBLEMS[container.exitCode];
  return problem ? `exit code ${container.exitCode}: ${problem}` : `exit code ${container.exitCode}`;
}
