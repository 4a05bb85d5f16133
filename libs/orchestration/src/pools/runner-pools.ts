import { AppConfig, RunnerPoolSetting, RunnerProfileName } from '@app/common';
import { JobEntity } from '@app/persistence';
import { Injectable } from '@nestjs/common';
import { RunnerProfiles } from '../runner-profiles';
import { RunnerRegistrations } from '../runner-registrations.service';

/**
 * The warm pools RUNNER_POOLS defines, and which of them may serve a job. A pool serves a job only when one of its
 * runners could run it exactly as a runner made for the job would: registered where the job's runner would be, with
 * every label the job asks for, under the profile the job's labels choose, from the job's image. GitHub hands a
 * queued job to any idle runner whose labels cover it, so this is also which pool runners GitHub may give it.
 */
/** What a pool looks at in a job. */
export type PoolCandidate = Pick<JobEntity, 'repository' | 'labels' | 'image'>;

@Injectable()
export class RunnerPools {
  constructor(
    private readonly config: AppConfig,
    private readonly profiles: RunnerProfiles,
    private readonly registrations: RunnerRegistrations,
  ) {}

  all(): readonly RunnerPoolSetting[] {
    return this.config.runners.pools;
  }

  get(name: string): RunnerPoolSetting | undefined {
    return this.all().find((pool) => pool.name === name);
  }

  profileOf(pool: RunnerPoolSetting): RunnerProfileName {
    return pool.profile ?? this.profiles.choose(pool.labels).profile;
  }

  imageOf(pool: RunnerPoolSetting): string {
    return pool.image ?? this.config.runnerImage;
  }

  /** The pools that may serve the job (none, as a rule, or one). */
  covering(job: PoolCandidate): RunnerPoolSetting[] {
    return this.all().filter((pool) => this.serves(pool, job));
  }

  serves(pool: RunnerPoolSetting, job: PoolCandidate): boolean {
    const labels = job.labels.length > 0 ? job.labels : this.config.orchestration.runnerLabels;
    return (
      pool.scope.toLowerCase() === this.scopeNameOf(job.repository) &&
      labels.every((label) => pool.labels.includes(label.toLowerCase())) &&
      this.profileOf(pool) === this.profiles.choose(job.labels).profile &&
      this.imageOf(pool) === (job.image ?? this.config.runnerImage)
    );
  }

  /** Whether a runner of a pool (`pool` null: a job's own runner) may serve the job. */
  runnerServes(runner: { pool: string | null }, job: PoolCandidate): boolean {
    const pool = runner.pool ? this.get(runner.pool) : undefined;
    return pool !== undefined && this.serves(pool, job);
  }

  private scopeNameOf(repository: string): string {
    const scope = this.registrations.scopeOf(repository);
    return (scope.kind === 'repository' ? `${scope.owner}/${scope.repo}` : scope.org).toLowerCase();
  }
}
