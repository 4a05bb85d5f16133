import { JobEntity } from '@app/persistence';
import { JobDto } from './dto/job.dto';

export function toJobDto(job: JobEntity): JobDto {
  return {
    id: job.id,
    state: job.state,
    repository: job.repository,
    labels: job.labels,
    image: job.image,
    githubJobId: job.githubJobId,
    githubRunId: job.githubRunId,
    resultSource: job.githubJobId ? 'github' : 'exit-code',
    runnerId: job.runnerId,
    containerId: job.containerId,
    githubRunnerName: job.githubRunnerName,
    profile: job.profile,
    profileReason: job.profileReason,
    imageDigest: job.imageDigest,
    engineName: job.engineName,
    placement: job.placement,
    waitingReason: job.waitingReason,
    attempts: job.attempts,
    failureReason: job.failureReason,
    failureCode: job.failureCode,
    conclusion: job.conclusion,
    queuedAt: job.queuedAt.toISOString(),
    availableAt: job.availableAt?.toISOString() ?? null,
    assignedAt: job.assignedAt?.toISOString() ?? null,
    startedAt: job.startedAt?.toISOString() ?? null,
    finishedAt: job.finishedAt?.toISOString() ?? null,
  };
}
