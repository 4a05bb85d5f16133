import { AppConfig, DomainError, ErrorCode } from '@app/common';
import { Inject, Injectable, Logger } from '@nestjs/common';
import { Octokit } from '@octokit/rest';
import { GITHUB_CLIENT } from './github-client.factory';
import { configuredSecretsOf, credentialsHintOf, credentialsKindOf } from './github-credentials.settings';
import { isGitHubHttpError, messageOf, toGitHubError } from './github-error.translator';
import {
  describeScope,
  GitHubWorkflowJob,
  RunnerCredentials,
  RunnerDeregistration,
  RunnerRegistrationRequest,
  RunnerScope,
} from './runner-registration.types';

/** The runner's working directory inside its container, relative to the runner's home (GitHub's default). */
const WORK_FOLDER = '_work';
/** The most GitHub lists in one page. */
const PER_PAGE = 100;

/**
 * Self-hosted runners on GitHub's side: registers one ephemeral runner per job and removes it again. Speaks
 * GitHub's documented REST endpoints only; what to do about a failure (retry the job, fail it) is the caller's
 * business, told apart by the DomainError's code.
 */
@Injectable()
export class GitHubRunnerRegistry {
  private readonly logger = new Logger(GitHubRunnerRegistry.name);
  private warnedAboutJitFallback = false;

  constructor(
    private readonly config: AppConfig,
    @Inject(GITHUB_CLIENT) private readonly github: Octokit,
  ) {}

  /** true when a token or a GitHub App is configured. */
  isConfigured(): boolean {
    return credentialsKindOf(this.config.github) !== 'none';
  }

  /**
   * Registers an ephemeral runner, just in time when GitHub can (the runner exists, with an id, before its container
   * starts, and its configuration works once); with a registration token otherwise. GitHub Enterprise Server
   * releases before 3.10 have no generate-jitconfig and answer 404, which is what the fallback is for.
   */
  async register(request: RunnerRegistrationRequest): Promise<RunnerCredentials> {
    this.requireConfigured();
    const where = describeScope(request.scope);
    const context = { operation: 'register', scope: where, runnerName: request.name };
    const accepts = request.accepts ?? { jitConfig: true, registrationToken: true };
    if (accepts.jitConfig) {
      try {
        return await this.generateJitConfig(request);
      } catch (error) {
        if (!meansJitUnsupported(error) || !accepts.registrationToken) {
          throw this.failure(error, `the runner registration for ${where}`, context);
        }
        this.noteJitFallback(where, error.status);
      }
    }
    try {
      return await this.createRegistrationToken(request.scope);
    } catch (error) {
      throw this.failure(error, `the registration token for ${where}`, context);
    }
  }

  /**
   * Removes a runner from GitHub. A runner registered with a token has no known id: it is looked up by name.
   * A runner GitHub no longer has is 'already-gone', not an error: an ephemeral runner removes itself once its job
   * is done, so that is the usual outcome after a job. A runner GitHub refuses to delete with 422 is 'busy': GitHub
   * has handed it a job ("Runner ... is still running a job"; the call has no body that could be invalid).
   */
  async deregister(
    scope: RunnerScope,
    runner: { githubRunnerId: number | null; name: string },
  ): Promise<RunnerDeregistration> {
    this.requireConfigured();
    const where = describeScope(scope);
    const context = { operation: 'deregister', scope: where, runnerName: runner.name };
    let id = runner.githubRunnerId;
    if (id === null) {
      try {
        id = await this.findRunnerId(scope, runner.name);
      } catch (error) {
        throw this.failure(error, `the lookup of runner ${runner.name} in ${where}`, context);
      }
      if (id === null) return 'already-gone';
    }
    try {
      if (scope.kind === 'repository') {
        await this.github.rest.actions.deleteSelfHostedRunnerFromRepo({
          owner: scope.owner,
          repo: scope.repo,
          runner_id: id,
        });
      } else {
        await this.github.rest.actions.deleteSelfHostedRunnerFromOrg({ org: scope.org, runner_id: id });
      }
      return 'removed';
    } catch (error) {
      if (isGitHubHttpError(error) && error.response?.status === 404) return 'already-gone';
      if (isGitHubHttpError(error) && error.response?.status === 422) return 'busy';
      throw this.failure(error, `the removal of runner ${runner.name} from ${where}`, context);
    }
  }

  /** What GitHub says of one workflow job: its status, its conclusion once completed, and the runner that took it. */
  async getWorkflowJob(repository: string, githubJobId: string): Promise<GitHubWorkflowJob> {
    this.requireConfigured();
    const [owner, repo] = repository.split('/');
    try {
      const { data } = await this.github.rest.actions.getJobForWorkflowRun({
        owner,
        repo,
        job_id: Number(githubJobId),
      });
      const answer: unknown = data;
      if (!isRecord(answer) || typeof answer.status !== 'string') {
        throw this.unreadable(`workflow job ${githubJobId} of ${repository}`);
      }
      return {
        id: githubJobId,
        status: answer.status,
        conclusion: typeof answer.conclusion === 'string' ? answer.conclusion : null,
        runnerName: typeof answer.runner_name === 'string' && answer.runner_name ? answer.runner_name : null,
        runnerId: Number.isSafeInteger(answer.runner_id) ? (answer.runner_id as number) : null,
      };
    } catch (error) {
      if (error instanceof DomainError) throw error;
      throw this.failure(error, `the lookup of workflow job ${githubJobId} in ${repository}`, {
        operation: 'get workflow job',
        scope: repository,
      });
    }
  }

  private async generateJitConfig({ scope, name, labels }: RunnerRegistrationRequest): Promise<RunnerCredentials> {
    const body = { name, labels, runner_group_id: this.config.orchestration.runnerGroupId, work_folder: WORK_FOLDER };
    const { data } =
      scope.kind === 'repository'
        ? await this.github.rest.actions.generateRunnerJitconfigForRepo({
            owner: scope.owner,
            repo: scope.repo,
            ...body,
          })
        : await this.github.rest.actions.generateRunnerJitconfigForOrg({ org: scope.org, ...body });
    // Typed by Octokit, but read as unknown: a body cut short by the deadline reaches here as an empty string.
    const answer: unknown = data;
    if (!isRecord(answer) || typeof answer.encoded_jit_config !== 'string' || answer.encoded_jit_config === '') {
      throw this.unreadable(`the runner registration for ${describeScope(scope)}`);
    }
    const runner = answer.runner;
    if (!isRecord(runner) || !Number.isSafeInteger(runner.id)) {
      throw this.unreadable(`the runner registration for ${describeScope(scope)}`);
    }
    return { kind: 'jit', githubRunnerId: runner.id as number, encodedJitConfig: answer.encoded_jit_config };
  }

  private async createRegistrationToken(scope: RunnerScope): Promise<RunnerCredentials> {
    const { data } =
      scope.kind === 'repository'
        ? await this.github.rest.actions.createRegistrationTokenForRepo({ owner: scope.owner, repo: scope.repo })
        : await this.github.rest.actions.createRegistrationTokenForOrg({ org: scope.org });
    const answer: unknown = data;
    const expiresAt = isRecord(answer) && typeof answer.expires_at === 'string' ? new Date(answer.expires_at) : null;
    if (!isRecord(answer) || typeof answer.token !== 'string' || answer.token === '' || !expiresAt?.getTime()) {
      throw this.unreadable(`the registration token for ${describeScope(scope)}`);
    }
    return { kind: 'registration-token', token: answer.token, expiresAt };
  }

  /**
   * Finds a runner's id by its name. GitHub filters by `name`, but the result is checked here too, because a
   * GitHub Enterprise Server without that filter lists every runner of the scope: pages are then read until the
   * runner turns up.
   */
  private async findRunnerId(scope: RunnerScope, name: string): Promise<number | null> {
    const pages =
      scope.kind === 'repository'
        ? this.github.paginate.iterator(this.github.rest.actions.listSelfHostedRunnersForRepo, {
            owner: scope.owner,
            repo: scope.repo,
            name,
            per_page: PER_PAGE,
          })
        : this.github.paginate.iterator(this.github.rest.actions.listSelfHostedRunnersForOrg, {
            org: scope.org,
            name,
            per_page: PER_PAGE,
          });
    for await (const page of pages) {
      const runners: unknown = page.data;
      if (!Array.isArray(runners)) throw this.unreadable(`the runner list of ${describeScope(scope)}`);
      const match = runners.find((runner): runner is { id: number } => isRecord(runner) && runner.name === name);
      if (match) return match.id;
    }
    return null;
  }

  private requireConfigured(): void {
    if (!this.isConfigured()) {
      throw new DomainError(
        ErrorCode.GitHubNotConfigured,
        `No GitHub credentials are configured, so no runner can be registered or removed: ${credentialsHintOf(this.config.github)}`,
      );
    }
  }

  private failure(error: unknown, operation: string, details: Record<string, unknown>): Error {
    return toGitHubError(error, {
      operation,
      credentialsHint: credentialsHintOf(this.config.github),
      secrets: configuredSecretsOf(this.config.github),
      details,
    });
  }

  /** A success whose body is not what GitHub documents, most likely cut short: another try may well work. */
  private unreadable(operation: string): DomainError {
    return new DomainError(
      ErrorCode.GitHubUnavailable,
      `GitHub answered ${operation} with a body RunnerHub cannot read`,
    );
  }

  private noteJitFallback(where: string, status: number): void {
    const message = `GitHub answered ${status} to generate-jitconfig for ${where}; registering with a registration token instead (GitHub Enterprise Server before 3.10?)`;
    if (this.warnedAboutJitFallback) {
      this.logger.debug(message);
    } else {
      this.warnedAboutJitFallback = true;
      this.logger.warn(message);
    }
  }
}

/**
 * Whether generate-jitconfig failed because this GitHub does not have it. A GitHub without the route answers a
 * plain 404 "Not Found"; a 404 with any other message (an unknown runner group, say) is a real refusal and is
 * reported as such. A missing repository also answers a plain 404: the registration-token call then fails the
 * same way and reports it. A 422 counts only when GitHub says the feature is unsupported; a 422 about the request
 * (a bad label, a missing field) is our mistake and must not be hidden by a fallback.
 */
function meansJitUnsupported(error: unknown): error is Error & { status: number } {
  if (!isGitHubHttpError(error) || !error.response) return false;
  const { status, data } = error.response;
  const message = messageOf(status, data);
  if (status === 404) return /^not found$/i.test(message.trim());
  if (status === 422) return /\bnot (?:supported|available|enabled)\b|\bunsupported\b/i.test(message);
  return false;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
