import { AppConfig, ContainerState, errorMessage, isDaemonSidecar, MANAGED_SELECTOR } from '@app/common';
import { EngineConnection, EngineRegistry } from '@app/docker';
import { ContainerRecordRepository, JobRepository } from '@app/persistence';
import { Injectable, Logger } from '@nestjs/common';
import { CleanupInput, EngineContainerView } from './cleanup-policies';

const OPEN_STATES = Object.values(ContainerState).filter((state) => state !== ContainerState.Removed);

/**
 * What the policies decide on, read fresh at the start of each scan: every open record, every container labelled
 * `runnerhub.managed` on every engine of the fleet (and nothing else: an unlabelled container is never even listed),
 * and the jobs the records belong to. An engine that does not answer contributes no containers this scan (its
 * records are still decided on; their removal waits until it answers).
 */
@Injectable()
export class CleanupInventory {
  private readonly logger = new Logger(CleanupInventory.name);

  constructor(
    private readonly config: AppConfig,
    private readonly engines: EngineRegistry,
    private readonly records: ContainerRecordRepository,
    private readonly jobs: JobRepository,
  ) {}

  async take(now = new Date()): Promise<CleanupInput> {
    const [records, engineContainers] = await Promise.all([
      this.records.findInStates(OPEN_STATES),
      Promise.all(this.engines.all().map((connection) => this.managedOn(connection))).then((lists) => lists.flat()),
    ]);
    const jobIds = [...new Set(records.map((record) => record.jobId).filter((id): id is string => id !== null))];
    const jobs = await this.jobs.findByIds(jobIds);
    const { completedGraceMs, preserveFailed, failedRetentionMs, orphanAgeMs, stoppedAgeMs, stuckAfterMs } =
      this.config.cleanup;
    return {
      records,
      engineContainers,
      jobs,
      now,
      settings: { completedGraceMs, preserveFailed, failedRetentionMs, orphanAgeMs, stoppedAgeMs, stuckAfterMs },
    };
  }

  private async managedOn({ name: engineName, engine }: EngineConnection): Promise<EngineContainerView[]> {
    try {
      const containers = await engine.listByLabel(MANAGED_SELECTOR, { all: true });
      return containers
        .filter((container) => !isDaemonSidecar(container.labels))
        .map((container) => ({
          engineName,
          engineId: container.id,
          name: container.names[0] ?? container.id.slice(0, 12),
          running: container.state === 'running',
          created: container.created,
        }));
    } catch (error) {
      this.logger.warn(`Engine ${engineName} was left out of this cleanup scan: ${errorMessage(error)}`);
      return [];
    }
  }
}
