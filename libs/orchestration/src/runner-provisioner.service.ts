import { AppConfig, DomainError, ErrorCode, errorMessage, JobState } from '@app/common';
import { EngineRegistry } from '@app/docker';
import { ContainerLifecycleManager } from '@app/lifecycle';
import { JobEntity, JobRepository, RunnerStatus } from '@app/persistence';
import { Injectable, Logger } from '@nestjs/common';
import { JobRetryPolicy } from './job-retry.policy';
import { JobSettlement } from './job-settlement.service';
import { JobTransitions } from './job-transitions.service';
import { RunnerContainerConfig } from './runner-container.config';
import { RunnerImageFamilies } from './runner-images';
import { RunnerProfiles } from './runner-profiles';
import { RunnerRegistrations } from './runner-registrations.service';
import { RunnerContainerRemover } from './runner-container.remover';

export const ORCHESTRATOR_ACTOR = 'orchestrator';

/**
 * Turns one ASSIGNED job into a running ephemeral runner, following the spec's container creation flow: register
 * the runner with GitHub and record it, create its container through the lifecycle manager, start it, mark the
 * runner BUSY and the job RUNNING. A step that fails undoes what came before it (container removed, registration
 * withdrawn) and hands the job to the retry policy. If the job is cancelled or finished while this runs, the
 * runner is withdrawn at the next step instead of being started for nothing.
 */
@Injectable()
export class RunnerProvisioner {
  private readonly logger = new Logger(RunnerProvisioner.name);

  constructor(
    private readonly lifecycle: ContainerLifecycleManager,
    private readonly runnerContainers: RunnerContainerRemover,
    private readonly registrations: RunnerRegistrations,
    private readonly containerConfig: RunnerContainerConfig,
    private readonly transitions: JobTransitions,
    private readonly retryPolicy: JobRetryPolicy,
    private readonly settlement: JobSettlement,
    private readonly profiles: RunnerProfiles,
    private readonly families: RunnerImageFamilies,
    private readonly engines: EngineRegistry,
    private readonly config: AppConfig,
    private readonly jobs: JobRepository,
  ) {}

  async provision(job: JobEntity): Promise<void> {
    const attempt = job.attempts + 1;
    let runnerId: string | null = null;
    let containerId: string | null = null;
    try {
      const { profile, reason: profileReason } = this.profiles.choose(job.labels);
      const image = job.image ?? this.config.runnerImage;
      // The job was placed on an engine at its claim; its image is pulled there, each host keeping its own images.
      const engineName = job.engineName ?? this.engines.first.name;
      // The image first: a pull that fails leaves nothing registered on GitHub. A runner too old for GitHub asked
      // for a fresh pull, whatever the policy.
      const pulled = await this.engines
        .get(engineName)
        .images.ensure(image, job.refreshImage ? 'always' : this.config.runners.pullPolicy);
      const facts = { profile, profileReason, imageDigest: pulled.digest, refreshImage: false, attempts: attempt };
      const family = this.families.current;
      const registered = await this.registrations.register(job, {
        profile,
        accepts: { jitConfig: family.acceptsJitConfig, registrationToken: family.acceptsRegistrationToken },
      });
      runnerId = registered.runner.id;
      // One write for what this try is made of and its runner: the job's start is on the clock.
      if (!(await this.transitions.annotate(job.id, JobState.Assigned, { ...facts, runnerId }))) {
        return await this.withdraw(job.id, runnerId, containerId);
      }
      const { config, limits, security } = this.containerConfig.build(
        job.repository,
        registered,
        { ref: image, digest: pulled.digest },
        profile,
      );
      containerId = await this.lifecycle.createContainer(
        runnerId,
        job.id,
        config,
        limits,
        security,
        ORCHESTRATOR_ACTOR,
        { reservedOn: engineName },
      );
      await this.registrations.markStatus(runnerId, RunnerStatus.Idle, containerId);
      if (!(await this.transitions.annotate(job.id, JobState.Assigned, { containerId }))) {
        return await this.withdraw(job.id, runnerId, containerId);
      }
      await this.lifecycle.start(containerId, ORCHESTRATOR_ACTOR);
      if (job.githubJobId) {
        // GitHub decides which job this runner runs: the job stays ASSIGNED until GitHub reports it in progress
        // (on this runner or another). A runner that ended at once (a bad command) is seen to here.
        await this.settlement.settleFromContainer(containerId);
        return;
      }
      await this.registrations.markStatus(runnerId, RunnerStatus.Busy);
      const running = await this.transitions.move(job.id, {
        to: JobState.Running,
        from: [JobState.Assigned],
        changes: { startedAt: new Date() },
        reason: `runner ${registered.runner.name} started`,
      });
      if (!running) return await this.withdraw(job.id, runnerId, containerId);
      // A runner that ends at once may have exited before the job was RUNNING, when its exit could not settle it.
      await this.settlement.settleFromContainer(containerId);
    } catch (error) {
      await this.undo(runnerId, containerId, 'its start failed');
      if (this.isEngineLoss(error)) return await this.placeAgain(job, error);
      await this.giveBack(job.id, attempt, error);
    }
  }

  /**
   * The job moved on meanwhile (cancelled, finished, or GitHub ran it on another runner). Another job may have been
   * handed this runner by then (GitHub gave that job's own runner to this one): the runner is then started for it;
   * otherwise nothing of it may keep running.
   */
  private async withdraw(jobId: string, runnerId: string, containerId: string | null): Promise<void> {
    const heir = (await this.jobs.findActiveByRunnerId(runnerId)).find((other) => other.id !== jobId);
    if (heir && containerId) {
      this.logger.log(`Job ${jobId} moved on while its runner was being made; the runner goes on for job ${heir.id}`);
      await this.lifecycle.start(containerId, ORCHESTRATOR_ACTOR);
      return;
    }
    this.logger.log(`Job ${jobId} moved on while its runner was being made; withdrawing the runner`);
    await this.undo(runnerId, containerId, 'its job moved on before it started');
  }

  private async undo(runnerId: string | null, containerId: string | null, why: string): Promise<void> {
    if (containerId) {
      await this.runnerContainers.remove(containerId, ORCHESTRATOR_ACTOR, `runner withdrawn: ${why}`);
    }
    // release() logs its own failures and never throws.
    if (runnerId) await this.registrations.release(runnerId, why);
  }

  /**
   * The job's engine did not answer, and the fleet has others. That is the engine's fault, not the job's: the job is
   * queued again after the back-off without counting the try. Placement stops choosing that engine once the prober
   * finds it unreachable (ENGINE_UNREACHABLE_AFTER_MS), so this ends within the grace. A lone engine counts its
   * tries as before: there is nowhere else to go, and the job fails with the reason rather than wait blind.
   */
  private isEngineLoss(error: unknown): boolean {
    return error instanceof DomainError && error.code === ErrorCode.EngineUnavailable && this.engines.all().length > 1;
  }

  private async placeAgain(job: JobEntity, error: unknown): Promise<void> {
    const reason = `engine ${job.engineName ?? this.engines.first.name} did not answer (${errorMessage(error)}); the job is placed again, and this try does not count`;
    this.logger.warn(`Job ${job.id}: ${reason}`);
    await this.transitions.move(job.id, {
      to: JobState.Queued,
      from: [JobState.Assigned],
      changes: {
        attempts: job.attempts,
        runnerId: null,
        containerId: null,
        assignedAt: null,
        failureReason: reason,
        failureCode: ErrorCode.EngineUnavailable,
        availableAt: new Date(Date.now() + this.config.orchestration.retryBackoffMs),
      },
      reason,
    });
  }

  private async giveBack(jobId: string, attempt: number, error: unknown): Promise<void> {
    const decision = this.retryPolicy.decide(attempt, error);
    this.logger.warn(`Job ${jobId}: ${decision.reason}`);
    const common = {
      attempts: attempt,
      runnerId: null,
      containerId: null,
      failureReason: decision.reason,
      failureCode: error instanceof DomainError ? error.code : null,
    };
    if (decision.retry) {
      await this.transitions.move(jobId, {
        to: JobState.Queued,
        from: [JobState.Assigned],
        changes: { ...common, availableAt: decision.availableAt, assignedAt: null },
        reason: decision.reason,
      });
    } else {
      await this.transitions.move(jobId, {
        to: JobState.Failed,
        from: [JobState.Assigned],
        changes: { ...common, finishedAt: new Date() },
        reason: decision.reason,
      });
    }
  }
}
