import {
  ContainerEvent,
  ContainerState,
  ContainerTransitionPayload,
  DomainError,
  errorMessage,
  ErrorCode,
} from '@app/common';
import { DockerEngine, EngineRegistry } from '@app/docker';
import { ContainerRecordRepository } from '@app/persistence';
import { Inject, Injectable, Logger, Optional } from '@nestjs/common';
import { OnEvent } from '@nestjs/event-emitter';
import type { ContainerIdentity, DaemonAttachment, ResolvedLimits, ResolvedSecurity } from '../container-spec.builder';
import { DockerDaemonSidecars } from './docker-daemon-sidecars';
import { DOCKER_DAEMON_SIDECAR_OPTIONS, DockerDaemonSidecarOptions } from './sidecar-spec';

const MEBIBYTE = 1024 * 1024;

/**
 * The `docker` profile's per-job Docker daemons, one unit with their runner: made before the runner (which joins the
 * daemon's network namespace and volumes), gone as soon as the runner ends (nothing the job started through Docker
 * outlives it), and the unit's volumes removed with the runner. A unit whose runner RunnerHub no longer knows (a
 * crash between the two) is an orphan and is released at the next resync or cleanup scan. A unit lives on its
 * runner's engine.
 */
@Injectable()
export class RunnerDaemons {
  private readonly logger = new Logger(RunnerDaemons.name);
  /** One per engine, made on first use: each remembers whether its host refused a privileged daemon. */
  private readonly sidecarsByEngine = new Map<string, DockerDaemonSidecars>();

  constructor(
    private readonly engines: EngineRegistry,
    private readonly records: ContainerRecordRepository,
    @Optional() @Inject(DOCKER_DAEMON_SIDECAR_OPTIONS) private readonly options?: Partial<DockerDaemonSidecarOptions>,
  ) {}

  /** The daemon units of one engine. */
  on(engine: DockerEngine): DockerDaemonSidecars {
    let sidecars = this.sidecarsByEngine.get(engine.name);
    if (!sidecars) {
      sidecars = new DockerDaemonSidecars(engine, this.options);
      this.sidecarsByEngine.set(engine.name, sidecars);
    }
    return sidecars;
  }

  /** Makes and starts the runner's daemon; the daemon shares the runner's limits (what the job runs counts there). */
  async attach(
    engine: DockerEngine,
    identity: ContainerIdentity,
    repository: string | null,
    resolved: { limits: ResolvedLimits; security: ResolvedSecurity },
  ): Promise<DaemonAttachment> {
    const attachment = await this.on(engine).prepare({
      recordId: identity.recordId,
      name: identity.name,
      runnerId: identity.runnerId,
      jobId: identity.jobId,
      repository,
      networkMode: resolved.security.network,
      limits: {
        ...(resolved.limits.memoryMB !== undefined ? { memoryBytes: resolved.limits.memoryMB * MEBIBYTE } : {}),
        pidsLimit: resolved.limits.pidsLimit,
      },
    });
    this.logger.log(
      `Docker daemon ${attachment.sidecarName} (${attachment.mode}) ready for ${identity.name} in ${attachment.readyAfterMs} ms`,
    );
    return { networkMode: attachment.networkMode, mounts: attachment.mounts, env: { ...attachment.env } };
  }

  /** Removes what is left of a runner's unit; never throws (an orphan sweep finishes what fails here). */
  async release(engine: DockerEngine, recordId: string): Promise<void> {
    try {
      await this.on(engine).release(recordId);
    } catch (error) {
      // The runner container still mounts the unit's socket and work volumes until it is removed itself.
      if (DomainError.is(error, ErrorCode.Conflict)) return;
      this.logger.warn(`The Docker daemon of container ${recordId} could not be released: ${errorMessage(error)}`);
    }
  }

  @OnEvent(ContainerEvent.Stopped, { async: true })
  @OnEvent(ContainerEvent.Error, { async: true })
  @OnEvent(ContainerEvent.Removed, { async: true })
  async onRunnerEnded(payload: ContainerTransitionPayload): Promise<void> {
    try {
      const record = await this.records.findById(payload.containerId);
      if (record?.security?.profile !== 'docker') return;
      await this.release(this.engines.get(record.engineName).engine, record.id);
    } catch (error) {
      this.logger.warn(`Releasing the daemon of ${payload.containerId} failed: ${errorMessage(error)}`);
    }
  }

  /**
   * Releases every unit whose runner record is gone or removed: what a crash left behind. On one engine, or on each
   * engine of the fleet (an engine that does not answer is skipped: its orphans wait for the next sweep).
   */
  async releaseOrphans(engine?: DockerEngine): Promise<number> {
    if (!engine) {
      let released = 0;
      for (const { engine: each } of this.engines.all()) {
        released += await this.releaseOrphans(each).catch((error: unknown) => {
          this.logger.warn(`Orphaned Docker daemons on engine ${each.name} were not swept: ${errorMessage(error)}`);
          return 0;
        });
      }
      return released;
    }
    const orphans = await this.on(engine).findOrphans(async (recordId) => {
      const record = await this.records.findById(recordId);
      return record !== null && record.state !== ContainerState.Removed;
    });
    for (const orphan of orphans) await this.release(engine, orphan.recordId);
    return orphans.length;
  }
}
