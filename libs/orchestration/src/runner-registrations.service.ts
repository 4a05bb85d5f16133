import { randomBytes, randomUUID } from 'node:crypto';
import { AppConfig, DomainError, ErrorCode, RunnerPoolSetting, RunnerProfileName } from '@app/common';
import { JobEntity, RunnerChanges, RunnerEntity, RunnerRepository, RunnerStatus } from '@app/persistence';
import { Injectable, Logger } from '@nestjs/common';
import { GitHubRunnerRegistry, RunnerCredentials, RunnerDeregistration, RunnerScope } from './github';

/** Writes to one runner that may lose a race before one wins; more means something keeps rewriting it. */
const MAX_WRITE_RACES = 5;

export interface RegistrationOptions {
  profile: RunnerProfileName;
  /** What the runner image takes: a just-in-time configuration, a registration token, or either. */
  accepts: { jitConfig: boolean; registrationToken: boolean };
}

export interface RegisteredRunner {
  runner: RunnerEntity;
  scope: RunnerScope;
  /** Handed to the container and dropped: never stored, logged or returned. */
  credentials: RunnerCredentials;
}

/**
 * Runners on GitHub's side: one registered per job, recorded in the runners table, and removed from GitHub once it
 * can no longer take its job, so no stale registration is left behind in the repository's or organisation's list.
 */
@Injectable()
export class RunnerRegistrations {
  private readonly logger = new Logger(RunnerRegistrations.name);

  constructor(
    private readonly config: AppConfig,
    private readonly registry: GitHubRunnerRegistry,
    private readonly runners: RunnerRepository,
  ) {}

  /** Fails fast, before a job is accepted, when no runner could ever be registered. */
  requireConfigured(): void {
    if (!this.registry.isConfigured()) {
      throw new DomainError(
        ErrorCode.GitHubNotConfigured,
        'No GitHub credentials are configured, so no runner can be registered: set GITHUB_TOKEN, or GITHUB_APP_ID ' +
          'with GITHUB_APP_PRIVATE_KEY and GITHUB_APP_INSTALLATION_ID',
      );
    }
  }

  /**
   * Registers a runner for a job. It carries the job's own labels (RUNNER_LABELS for a job that asked for none), so
   * GitHub hands it only jobs whose labels it covers, and never a job that needs another profile's label.
   */
  async register(job: JobEntity, options: RegistrationOptions): Promise<RegisteredRunner> {
    return this.registerRunner({
      scope: this.scopeOf(job.repository),
      name: `runnerhub-${job.id.slice(0, 8)}-${randomBytes(3).toString('hex')}`,
      labels: job.labels.length > 0 ? [...job.labels] : this.config.orchestration.runnerLabels,
      jobId: job.id,
      pool: null,
      options,
    });
  }

  /** Registers an idle runner of a warm pool: the pool's labels, in the pool's repository or organisation. */
  async registerForPool(pool: RunnerPoolSetting, options: RegistrationOptions): Promise<RegisteredRunner> {
    const [owner, repo] = pool.scope.split('/');
    return this.registerRunner({
      scope:
        this.config.orchestration.runnerScope === 'organization'
          ? { kind: 'organization', org: pool.scope }
          : { kind: 'repository', owner, repo },
      name: `runnerhub-${pool.name}-${randomBytes(4).toString('hex')}`,
      labels: [...pool.labels],
      jobId: null,
      pool: pool.name,
      options,
    });
  }

  private async registerRunner(request: {
    scope: RunnerScope;
    name: string;
    labels: string[];
    jobId: string | null;
    pool: string | null;
    options: RegistrationOptions;
  }): Promise<RegisteredRunner> {
    const { scope, name, labels, options } = request;
    const credentials = await this.registry.register({ scope, name, labels, accepts: options.accepts });
    const runner = await this.runners.create({
      id: randomUUID(),
      name,
      githubRunnerId: credentials.kind === 'jit' ? String(credentials.githubRunnerId) : null,
      scopeKind: scope.kind,
      scopeName: scope.kind === 'repository' ? `${scope.owner}/${scope.repo}` : scope.org,
      labels,
      registration: credentials.kind,
      jobId: request.jobId,
      pool: request.pool,
      profile: options.profile,
    });
    return { runner, scope, credentials };
  }

  /** Records where the runner is. */
  async markStatus(runnerId: string, status: RunnerStatus, containerId?: string): Promise<void> {
    await this.change(runnerId, (runner) => {
      if (runner.status === RunnerStatus.Offline) return null;
      // A runner GitHub gave a job stays busy until it ends.
      const next = runner.githubJobId && status === RunnerStatus.Idle ? RunnerStatus.Busy : status;
      return { status: next, ...(containerId ? { containerId } : {}) };
    });
  }

  /**
   * Takes the runner off GitHub's list (it is gone already when an ephemeral runner finished its job) and marks it
   * offline. Never throws: a registration GitHub still lists is logged and retried at the next release. Answers what
   * GitHub said (null when the runner was released before, or GitHub could not be asked); a `busy` runner, one GitHub
   * has just handed a job, stays registered: GitHub removes it itself once that job is done.
   */
  async release(runnerId: string, why: string): Promise<RunnerDeregistration | null> {
    try {
      const runner = await this.runners.findById(runnerId);
      if (!runner || runner.deregisteredAt) return null;
      const result = await this.registry.deregister(this.scopeOfRunner(runner), {
        githubRunnerId: runner.githubRunnerId === null ? null : Number(runner.githubRunnerId),
        name: runner.name,
      });
      if (result === 'busy') {
        this.logger.log(`Runner ${runner.name} stays on GitHub (${why}): GitHub has handed it a job`);
        return result;
      }
      await this.change(runner.id, () => ({ status: RunnerStatus.Offline, deregisteredAt: new Date() }));
      this.logger.log(
        `Runner ${runner.name} ${result === 'removed' ? 'removed from' : 'already gone on'} GitHub (${why})`,
      );
      return result;
    } catch (error) {
      this.logger.warn(
        `Runner ${runnerId} could not be released (${why}): ${error instanceof Error ? error.message : String(error)}`,
      );
      return null;
    }
  }

  /**
   * Releases registrations that nobody will ever use: made before `cutoff`, with no container recorded, and no
   * unfinished job pointing at them (`isWanted` says). A replica killed between registering a runner on GitHub and
   * making its container leaves such a registration, which GitHub would otherwise list forever.
   */
  async releaseAbandoned(cutoff: Date, isWanted: (runner: RunnerEntity) => Promise<boolean>): Promise<void> {
    for (const runner of await this.runners.findRegisteredWithoutContainer(cutoff)) {
      if (await isWanted(runner)) continue;
      await this.release(runner.id, 'registered, but its container was never made (its replica stopped)');
    }
  }

  /**
   * Releases the runner only if `containerId` is its own container. A container made through the API may carry any
   * runnerId, and its removal must never take another job's runner off GitHub.
   */
  async releaseOwnedBy(runnerId: string, containerId: string, why: string): Promise<boolean> {
    const runner = await this.runners.findById(runnerId);
    if (!runner || runner.containerId !== containerId) {
      if (runner) {
        this.logger.warn(
          `Container ${containerId} names runner ${runner.name}, which is not its own (its container is ` +
            `${runner.containerId ?? 'none'}): the runner is left alone`,
        );
      }
      return false;
    }
    await this.release(runner.id, why);
    return true;
  }

  /** Records that GitHub gave this runner a job: it will take no other. */
  async markTaken(runner: RunnerEntity, githubJobId: string): Promise<void> {
    await this.change(runner.id, () => ({ githubJobId, status: RunnerStatus.Busy }));
  }

  /**
   * Writes what `decide` makes of the runner as it is now. Several parties write a runner at once (the provisioner,
   * a webhook, its container's end): a write that lost the race reads the runner again and decides again.
   */
  private async change(runnerId: string, decide: (runner: RunnerEntity) => RunnerChanges | null): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      const runner = await this.runners.findById(runnerId);
      const changes = runner ? decide(runner) : null;
      if (!runner || !changes) return;
      try {
        await this.runners.update(runner.id, runner.version, changes);
        return;
      } catch (error) {
        if (!DomainError.is(error, ErrorCode.Conflict) || attempt >= MAX_WRITE_RACES) throw error;
      }
    }
  }

  findByName(name: string): Promise<RunnerEntity | null> {
    return this.runners.findByName(name);
  }

  findById(id: string): Promise<RunnerEntity | null> {
    return this.runners.findById(id);
  }

  findByContainerId(containerId: string): Promise<RunnerEntity | null> {
    return this.runners.findByContainerId(containerId);
  }

  /** The runners made for, or handed, a job. */
  findByJobId(jobId: string): Promise<RunnerEntity[]> {
    return this.runners.findByJobId(jobId);
  }

  scopeOf(repository: string): RunnerScope {
    const [owner, repo] = repository.split('/');
    return this.config.orchestration.runnerScope === 'organization'
      ? { kind: 'organization', org: owner }
      : { kind: 'repository', owner, repo };
  }

  private scopeOfRunner(runner: RunnerEntity): RunnerScope {
    if (runner.scopeKind === 'organization') return { kind: 'organization', org: runner.scopeName };
    const [owner, repo] = runner.scopeName.split('/');
    return { kind: 'repository', owner, repo };
  }
}
