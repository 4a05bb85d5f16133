import { randomUUID } from 'node:crypto';
import { AppConfig, canTransition, ContainerState, DomainError, ErrorCode } from '@app/common';
import {
  ContainerInspection,
  DockerEngine,
  EngineRegistry,
  ExecOptions,
  ExecResult,
  LogsOptions,
  LogsResult,
  ResourceUsage,
} from '@app/docker';
import {
  ContainerRecordEntity,
  ContainerRecordFilter,
  ContainerRecordRepository,
  ContainerTransitionEntity,
  Page,
} from '@app/persistence';
import { Injectable } from '@nestjs/common';
import { ContainerLocks } from './container-locks';
import { ContainerConfig, ContainerLimits, SecurityOptions } from './container-request';
import { ContainerSpecBuilder } from './container-spec.builder';
import { DiskQuotaSupport } from './disk-quota-support';
import { EngineAvailability } from './engine-availability';
import { RunnerDaemons } from './docker-profile/runner-daemons';
import { DOCKER_HOST_VALUE } from './docker-profile/sidecar-spec';

import { illegalTransition, TransitionRecorder } from './transition-recorder';

/** What a `docker` profile runner is given to find its daemon (values set by the attachment). */
const DAEMON_ENV = { DOCKER_HOST: DOCKER_HOST_VALUE };

export const DEFAULT_STOP_TIMEOUT_SECONDS = 10;

/**
 * Where a new container goes. A job's runner goes to the engine its job reserved room on at its claim
 * (`reservedOn`); any other container is placed at its creation (PLACEMENT), on `engine` if given (it must be active
 * and have room), among the engines carrying every one of `labels` otherwise.
 */
export interface ContainerPlacement {
  reservedOn?: string;
  engine?: string;
  labels?: string[];
}
const SYSTEM_ACTOR = 'system';

/**
 * Owns every runner container from creation to removal. Each operation on a container runs under that container's
 * lock, checks the transition table, writes the transition before announcing it, and only then talks to the engine.
 * While the engine is unreachable every operation fails fast with ENGINE_UNAVAILABLE before any record is changed;
 * a failure the engine reports moves the record to ERROR with the engine's reason. A container that belongs to no
 * queued job takes a slot of MAX_CONCURRENT_CONTAINERS of its own when it is created or started again
 * (CAPACITY_EXHAUSTED when none is free); a job's container holds the slot its job was claimed with. Each record
 * names its engine, and every engine call about it goes to that engine (EngineRegistry).
 */
@Injectable()
export class ContainerLifecycleManager {
  constructor(
    private readonly engines: EngineRegistry,
    private readonly records: ContainerRecordRepository,
    private readonly recorder: TransitionRecorder,
    private readonly locks: ContainerLocks,
    private readonly specs: ContainerSpecBuilder,
    private readonly diskQuota: DiskQuotaSupport,
    private readonly availability: EngineAvailability,
    private readonly daemons: RunnerDaemons,
    private readonly config: AppConfig,
  ) {}

  /** Creates (but does not start) a runner container and returns RunnerHub's id for it. */
  async createContainer(
    runnerId: string | null,
    jobId: string | null,
    config: ContainerConfig,
    limits: ContainerLimits = {},
    security: SecurityOptions = {},
    actor = SYSTEM_ACTOR,
    where: ContainerPlacement = {},
  ): Promise<string> {
    const resolved = await this.specs.resolve(config, limits, security);
    // An engine known before placement (the job's, or the only one there is) is asked first, so that nothing is
    // written while it does not answer. Otherwise the one placement picks is asked right after.
    const knownEngine =
      where.reservedOn ?? where.engine ?? (this.engines.all().length === 1 ? this.engines.first.name : undefined);
    if (knownEngine) await this.requireEngineReady(knownEngine, resolved.limits.diskGB);

    const id = randomUUID();
    const identity = { recordId: id, name: `runner-${id.replace(/-/g, '').slice(0, 12)}`, runnerId, jobId };
    return this.locks.run(id, async () => {
      let record = await this.records.insert(
        {
          id,
          name: identity.name,
          runnerId,
          jobId,
          repository: config.repository ?? null,
          // Env names only: values may be runner tokens, and the database never sees them.
          spec: {
            image: config.image,
            ...(config.imageDigest ? { imageDigest: config.imageDigest } : {}),
            command: config.command,
            entrypoint: config.entrypoint,
            envNames: [
              ...Object.keys(config.env ?? {}),
              ...(resolved.security.profile === 'docker' ? Object.keys(DAEMON_ENV) : []),
            ],
            labels: config.labels ?? {},
            user: config.user,
            workingDir: config.workingDir,
          },
          limits: { ...resolved.limits },
          security: { ...resolved.security },
          ...(where.reservedOn ? { engineName: where.reservedOn } : {}),
        },
        { reason: 'creation requested', actor },
        {
          maxSlots: this.config.maxConcurrentContainers,
          ...(where.reservedOn
            ? {}
            : {
                placement: {
                  ...(where.engine ? { engineName: where.engine } : {}),
                  labels: where.labels ?? [],
                  memoryMb: resolved.limits.memoryMB ?? 0,
                  cpuMillis: Math.round((resolved.limits.cpuQuota ?? 0) / 100),
                  mode: this.config.placement.mode,
                },
              }),
        },
      );
      const { engine, setting } = this.engines.get(record.engineName);
      // An engine may name its own network for runners (one without a bridge: `none`).
      const onEngine = {
        ...resolved,
        security: { ...resolved.security, network: setting.network ?? resolved.security.network },
      };
      try {
        if (!knownEngine) await this.requireEngineReady(record.engineName, resolved.limits.diskGB);
        const daemon =
          resolved.security.profile === 'docker'
            ? await this.daemons.attach(engine, identity, config.repository ?? null, onEngine)
            : undefined;
        const engineId = await engine.createContainer(
          this.specs.build(identity, config, onEngine.limits, onEngine.security, daemon),
        );
        record = await this.recorder.move(record, {
          to: ContainerState.Created,
          reason: 'created on the engine',
          actor,
          engineId,
        });
      } catch (error) {
        await this.recorder.recordFailure(record.id, error, actor);
        if (resolved.security.profile === 'docker') await this.daemons.release(engine, record.id);
        throw error;
      }
      return record.id;
    });
  }

  start(id: string, actor = SYSTEM_ACTOR): Promise<ContainerRecordEntity> {
    return this.locks.run(id, async () => {
      let record = await this.require(id);
      if (record.state === ContainerState.Running) return record;
      if (!canTransition(record.state, ContainerState.Starting)) {
        throw illegalTransition(record, ContainerState.Starting, 'be started');
      }
      const engine = this.engineOf(record);
      await this.availability.require(record.engineName);
      record = await this.recorder.move(record, {
        to: ContainerState.Starting,
        reason: 'start requested',
        actor,
        maxSlots: this.config.maxConcurrentContainers,
      });
      try {
        await engine.start(record.engineId!);
      } catch (error) {
        await this.recorder.recordFailure(record.id, error, actor);
        throw error;
      }
      return this.recorder.move(record, { to: ContainerState.Running, reason: 'started', actor });
    });
  }

  /** Stops a running container: SIGTERM, then SIGKILL after `timeoutSeconds`. Stopping a stopped one is a no-op. */
  stop(
    id: string,
    timeoutSeconds = DEFAULT_STOP_TIMEOUT_SECONDS,
    actor = SYSTEM_ACTOR,
  ): Promise<ContainerRecordEntity> {
    return this.locks.run(id, () => this.stopLocked(id, timeoutSeconds, actor, 'stop requested'));
  }

  /**
   * Removes a container from the engine and closes its record. A running container needs `force` (it is then
   * stopped at once first, so the history shows the stop too). Removing a removed container is a no-op.
   */
  remove(id: string, options: { force?: boolean } = {}, actor = SYSTEM_ACTOR, reason = 'removal requested') {
    return this.locks.run(id, async () => {
      let record = await this.require(id);
      if (record.state === ContainerState.Removed) return record;
      if (isActive(record.state)) {
        if (!options.force) {
          throw new DomainError(
            ErrorCode.IllegalTransition,
            `Container ${id} is ${record.state}: stop it first, or remove it with force`,
            { id, state: record.state, requested: ContainerState.Removing },
          );
        }
        record = await this.stopLocked(id, 0, actor, `${reason} (forced)`);
      }
      if (!canTransition(record.state, ContainerState.Removing)) {
        throw illegalTransition(record, ContainerState.Removing, 'be removed');
      }
      const engine = this.engineOf(record);
      if (record.engineId) await this.availability.require(record.engineName);
      record = await this.recorder.move(record, { to: ContainerState.Removing, reason, actor });
      try {
        if (record.engineId) await engine.remove(record.engineId, { force: true, volumes: true });
      } catch (error) {
        await this.recorder.recordFailure(record.id, error, actor);
        throw error;
      }
      return this.recorder.move(record, { to: ContainerState.Removed, reason: 'removed from the engine', actor });
    });
  }

  /** `signal`: the caller gave up (its client hung up); the engine then kills the command, as on a timeout. */
  async exec(id: string, options: ExecOptions, signal?: AbortSignal): Promise<ExecResult> {
    const record = await this.requireState(id, [ContainerState.Running], 'run a command');
    return this.engineOf(record).exec(record.engineId!, options, signal);
  }

  async logs(id: string, options: LogsOptions): Promise<LogsResult> {
    const record = await this.require(id);
    if (!record.engineId || record.state === ContainerState.Removed) {
      throw new DomainError(ErrorCode.Conflict, `Container ${id} is ${record.state}: it has no logs on the engine`, {
        id,
        state: record.state,
      });
    }
    return this.engineOf(record).logs(record.engineId, options);
  }

  async stats(id: string): Promise<ResourceUsage> {
    const record = await this.requireState(id, [ContainerState.Running], 'report live resource usage');
    return this.engineOf(record).stats(record.engineId!);
  }

  /** What the engine says of a running container right now (state, exit code, the image's HEALTHCHECK status). */
  async inspect(id: string): Promise<ContainerInspection> {
    const record = await this.requireState(id, [ContainerState.Running], 'be inspected');
    return this.engineOf(record).inspect(record.engineId!);
  }

  /** The engine a record's container lives on; NOT_FOUND when that engine left the fleet. */
  engineOf(record: Pick<ContainerRecordEntity, 'engineName'>): DockerEngine {
    return this.engines.get(record.engineName).engine;
  }

  get(id: string): Promise<ContainerRecordEntity> {
    return this.require(id);
  }

  list(filter: ContainerRecordFilter = {}, page: Page = { limit: 50, offset: 0 }) {
    return this.records.list(filter, page);
  }

  async history(id: string): Promise<ContainerTransitionEntity[]> {
    await this.require(id);
    return this.records.transitions(id);
  }

  private async stopLocked(id: string, timeoutSeconds: number, actor: string, reason: string) {
    let record = await this.require(id);
    if (record.state === ContainerState.Stopped || record.state === ContainerState.Removed) return record;
    if (!canTransition(record.state, ContainerState.Stopping)) {
      throw illegalTransition(record, ContainerState.Stopping, 'be stopped');
    }
    const engine = this.engineOf(record);
    await this.availability.require(record.engineName);
    record = await this.recorder.move(record, { to: ContainerState.Stopping, reason, actor });
    try {
      await engine.stop(record.engineId!, timeoutSeconds);
      const inspection = await engine.inspect(record.engineId!);
      return await this.recorder.move(record, {
        to: ContainerState.Stopped,
        reason: `stopped (exit ${inspection.state.exitCode})`,
        actor,
        exitCode: inspection.state.exitCode,
      });
    } catch (error) {
      await this.recorder.recordFailure(record.id, error, actor);
      throw error;
    }
  }

  /** The engine answers, and can apply a disk quota when one is asked for. */
  private async requireEngineReady(engineName: string, diskGB: number | undefined): Promise<void> {
    if (diskGB !== undefined) await this.diskQuota.require(this.engines.get(engineName).engine);
    await this.availability.require(engineName);
  }

  private async require(id: string): Promise<ContainerRecordEntity> {
    const record = await this.records.findById(id);
    if (!record) throw new DomainError(ErrorCode.NotFound, `Container ${id} does not exist`, { id });
    return record;
  }

  private async requireState(id: string, states: ContainerState[], action: string): Promise<ContainerRecordEntity> {
    const record = await this.require(id);
    if (!states.includes(record.state) || !record.engineId) {
      throw new DomainError(ErrorCode.Conflict, `Container ${id} is ${record.state}: it must be running to ${action}`, {
        id,
        state: record.state,
      });
    }
    return record;
  }
}

function isActive(state: ContainerState): boolean {
  return state === ContainerState.Running || state === ContainerState.Starting || state === ContainerState.Stopping;
}
