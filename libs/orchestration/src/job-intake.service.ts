import { randomUUID } from 'node:crypto';
import { AppConfig, DomainError, ErrorCode, JobState } from '@app/common';
import { JobEntity, JobRepository, NewJob } from '@app/persistence';
import { Injectable } from '@nestjs/common';
import { EntityManager } from 'typeorm';
import { JobPolicy } from './job-policy';
import { JobTransitions } from './job-transitions.service';
import { RunnerRegistrations } from './runner-registrations.service';
import { unservedLabels } from './runner-labels';

export interface JobRequest {
  repository: string;
  labels: string[];
  image?: string;
  githubJobId?: string;
  githubRunId?: string;
}

/**
 * Admits jobs into the queue: only jobs this RunnerHub may serve (the operator's allowed repositories and images) and
 * can serve (its runner labels, GitHub credentials to register a runner), each announced as `job:queued` once stored.
 * Both ways in, the API and GitHub's webhook, come through here.
 */
@Injectable()
export class JobIntake {
  constructor(
    private readonly config: AppConfig,
    private readonly jobs: JobRepository,
    private readonly transitions: JobTransitions,
    private readonly registrations: RunnerRegistrations,
    private readonly policy: JobPolicy,
  ) {}

  /** Why this RunnerHub would not serve the job, or null when it would. */
  refusal(request: Pick<JobRequest, 'repository' | 'labels' | 'image'>): DomainError | null {
    const forbidden = this.policy.refusal(request);
    if (forbidden) return forbidden;
    const unserved = unservedLabels(this.config.orchestration.runnerLabels, request.labels);
    if (unserved.length === 0) return null;
    return new DomainError(
      ErrorCode.LabelsNotServed,
      `This RunnerHub does not serve the label(s) ${unserved.join(', ')}: its runners carry ` +
        `${this.config.orchestration.runnerLabels.join(', ')} (RUNNER_LABELS)`,
      { unserved, served: this.config.orchestration.runnerLabels },
    );
  }

  /** Stores a job (inside the caller's transaction when given one); announce it with {@link announce} after commit. */
  async admit(request: JobRequest, manager?: EntityManager): Promise<JobEntity> {
    const refusal = this.refusal(request);
    if (refusal) throw refusal;
    this.registrations.requireConfigured();
    const job: NewJob = {
      id: randomUUID(),
      repository: request.repository,
      labels: request.labels,
      image: request.image ?? null,
      githubJobId: request.githubJobId ?? null,
      githubRunId: request.githubRunId ?? null,
    };
    return this.jobs.enqueue(job, manager);
  }

  announce(job: JobEntity, reason: string): void {
    if (job.state === JobState.Queued) this.transitions.announce(job, null, reason);
  }
}
