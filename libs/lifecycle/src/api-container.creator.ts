import { DomainError, ErrorCode } from '@app/common';
import { ContainerRecordEntity, ContainerRecordRepository, JobRepository, RunnerRepository } from '@app/persistence';
import { Injectable } from '@nestjs/common';
import { ContainerLifecycleManager } from './container-lifecycle.manager';
import { ContainerConfig, ContainerLimits, SecurityOptions } from './container-request';

/** A container asked for through POST /api/containers. */
export interface ApiContainerRequest {
  /** The caller's own tag for a runner; never one of RunnerHub's runners. */
  runnerId: string | null;
  /** The caller's own tag for a job; never one of RunnerHub's jobs. */
  jobId: string | null;
  config: ContainerConfig;
  limits: ContainerLimits;
  security: SecurityOptions;
  /** Start it once created (the default). */
  start: boolean;
  /** An engine to pin it to, or engine labels it needs; placed among all active engines otherwise. */
  placement?: { engine?: string; labels?: string[] };
}

/**
 * Containers made by an API caller. The runnerId and jobId a caller gives are its own tags: they may not name a
 * runner or a job RunnerHub manages, because what RunnerHub does when a container ends or goes (settle its job, take
 * its runner off GitHub) would then be done to someone else's job. Such a request conflicts with RunnerHub's own
 * state (409), rather than being malformed (400): the same body with an unused tag is fine.
 */
@Injectable()
export class ApiContainerCreator {
  constructor(
    private readonly lifecycle: ContainerLifecycleManager,
    private readonly jobs: JobRepository,
    private readonly runners: RunnerRepository,
    private readonly containers: ContainerRecordRepository,
  ) {}

  async create(request: ApiContainerRequest, actor: string): Promise<ContainerRecordEntity> {
    await this.requireOwnTags(request.runnerId, request.jobId);
    const id = await this.lifecycle.createContainer(
      request.runnerId,
      request.jobId,
      request.config,
      request.limits,
      request.security,
      actor,
      request.placement,
    );
    return request.start ? this.lifecycle.start(id, actor) : this.lifecycle.get(id);
  }

  private async requireOwnTags(runnerId: string | null, jobId: string | null): Promise<void> {
    const problems: Array<{ field: string; message: string }> = [];
    if (jobId !== null && (await this.isManagedJob(jobId))) {
      problems.push({ field: 'jobId', message: `${jobId} is a job RunnerHub runs: give a tag of your own` });
    }
    if (runnerId !== null && (await this.isManagedRunner(runnerId))) {
      problems.push({
        field: 'runnerId',
        message: `${runnerId} is a runner RunnerHub manages: give a tag of your own`,
      });
    }
    if (problems.length === 0) return;
    throw new DomainError(
      ErrorCode.Conflict,
      `The container cannot be tagged with RunnerHub's own ${problems.map((p) => p.field).join(' and ')}: ` +
        problems.map((p) => p.message).join('; '),
      { field: problems[0].field, problems },
    );
  }

  private async isManagedJob(jobId: string): Promise<boolean> {
    return (await this.jobs.findById(jobId)) !== null || (await this.jobs.findByGithubJobId(jobId)) !== null;
  }

  private async isManagedRunner(runnerId: string): Promise<boolean> {
    return (
      (await this.runners.findById(runnerId)) !== null ||
      (await this.runners.findByName(runnerId)) !== null ||
      (await this.containers.isRunnerOfAJob(runnerId))
    );
  }
}
