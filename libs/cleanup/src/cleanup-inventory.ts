import { AppConfig, ContainerState, isDaemonSidecar, MANAGED_SELECTOR } from '@app/common';
import { DockerEngine } from '@app/docker';
import { ContainerRecordRepository, JobRepository } from '@app/persistence';
import { Injectable } from '@nestjs/common';
import { CleanupInput } from './cleanup-policies';

const OPEN_STATES = Object.values(ContainerState).filter((state) => state !== ContainerState.Removed);

/**
 * What the policies decide on, read fresh at the start of each scan: every open record, every engine container
 * labelled `runnerhub.managed` (and nothing else: an unlabelled container is never even listed), and the jobs the
 * records belong to.
 */
@Injectable()
export class CleanupInventory {
  constructor(
    private readonly config: AppConfig,
    private readonly engine: DockerEngine,
    private readonly records: ContainerRecordRepository,
    private readonly jobs: JobRepository,
  ) {}

  async take(now = new Date()): Promise<CleanupInput> {
    const [records, engineContainers] = await Promise.all([
      this.records.findInStates(OPEN_STATES),
      this.engine.listByLabel(MANAGED_SELECTOR, { all: true }),
    ]);
    const jobIds = [...new Set(records.map((record) => record.jobId).filter((id): id is string => id !== null))];
    const jobs = await this.jobs.findByIds(jobIds);
    const { completedGraceMs, preserveFailed, failedRetentionMs, orphanAgeMs, stoppedAgeMs, stuckAfterMs } =
      this.config.cleanup;
    return {
      records,
      engineContainers: engineContainers
        .filter((container) => !isDaemonSidecar(container.labels))
        .map((container) => ({
          engineId: container.id,
          name: container.names[0] ?? container.id.slice(0, 12),
          running: container.state === 'running',
          created: container.created,
        })),
      jobs,
      now,
      settings: { completedGraceMs, preserveFailed, failedRetentionMs, orphanAgeMs, stoppedAgeMs, stuckAfterMs },
    };
  }
}
