import { randomUUID } from 'node:crypto';
import { ContainerState as S, DomainError, ErrorCode, isDaemonSidecar, RunnerHubLabel } from '@app/common';
import { ContainerInspection, DockerEngine, EngineRegistry } from '@app/docker';
import { ContainerRecordEntity, ContainerRecordRepository, TransitionChange } from '@app/persistence';
import { Injectable } from '@nestjs/common';
import { ContainerLocks } from './container-locks';
import { TransitionRecorder } from './transition-recorder';

export const RECONCILER_ACTOR = 'reconciler';
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/**
 * Brings one record in line with what the engine shows, under the same per-container lock as the lifecycle
 * manager, through the same transition table and recorder: drift is corrected, never written behind anyone's back.
 * A record is compared with its own engine.
 */
@Injectable()
export class EngineStateSync {
  constructor(
    private readonly engines: EngineRegistry,
    private readonly records: ContainerRecordRepository,
    private readonly recorder: TransitionRecorder,
    private readonly locks: ContainerLocks,
  ) {}

  /** Returns whether the record changed. Throws ENGINE_UNAVAILABLE when the engine cannot be asked. */
  reconcile(recordId: string): Promise<boolean> {
    return this.locks.run(recordId, async () => {
      const start = await this.records.findById(recordId);
      if (!start || start.state === S.Removed) return false;
      let record = start;
      const engine = this.engines.get(record.engineName).engine;
      if (!record.engineId) {
        const found = await engine.listByLabel({ [RunnerHubLabel.Record]: record.id }, { all: true });
        if (found.length === 0) {
          await this.close(record, 'the engine never made the container (creation was interrupted)');
          return true;
        }
        record = await this.step(record, S.Created, 'found on the engine after an interruption', {
          engineId: found[0].id,
        });
      }
      const inspection = await this.inspectOrNull(engine, record.engineId!);
      if (!inspection) {
        await this.close(record, 'the container vanished from the engine');
        return true;
      }
      return (await this.align(engine, record, inspection)) !== start;
    });
  }

  /**
   * Takes a labelled container that has no record into the books, in the state the engine shows, with no job, so the
   * cleanup policies can deal with it as an orphan. Returns whether a record was written.
   */
  async adopt(engine: DockerEngine, engineId: string): Promise<boolean> {
    const inspection = await this.inspectOrNull(engine, engineId);
    if (!inspection || inspection.labels[RunnerHubLabel.Managed] !== 'true') return false;
    if (isDaemonSidecar(inspection.labels)) return false;
    if (await this.records.findByEngineId(engineId)) return false;
    const labelled = inspection.labels[RunnerHubLabel.Record];
    const id = labelled && UUID.test(labelled) && !(await this.records.findById(labelled)) ? labelled : randomUUID();
    return this.locks.run(id, async () => {
      if (await this.records.findByEngineId(engineId)) return false;
      const state = inspection.state.running ? S.Running : inspection.state.startedAt ? S.Stopped : S.Created;
      const reason = 'adopted: labelled container on the engine with no record';
      const record = await this.records.insert(
        {
          id,
          engineId,
          engineName: engine.name,
          state,
          name: inspection.name.replace(/^\//, ''),
          runnerId: inspection.labels[RunnerHubLabel.Runner] ?? null,
          jobId: inspection.labels[RunnerHubLabel.Job] ?? null,
          repository: inspection.labels[RunnerHubLabel.Repository] ?? null,
          spec: { image: inspection.image, envNames: [], labels: inspection.labels },
          limits: {},
          security: {},
        },
        { reason, actor: RECONCILER_ACTOR, exitCode: inspection.state.running ? null : inspection.state.exitCode },
      );
      this.recorder.announce(record, null, { to: state, reason, actor: RECONCILER_ACTOR });
      return true;
    });
  }

  private async align(
    docker: DockerEngine,
    record: ContainerRecordEntity,
    engine: ContainerInspection,
  ): Promise<ContainerRecordEntity> {
    const running = engine.state.running;
    switch (record.state) {
      case S.Creating:
        return this.step(record, S.Created, 'found on the engine after an interruption');
      case S.Created:
      case S.Stopped:
        if (!running) return record;
        record = await this.step(record, S.Starting, 'started outside RunnerHub');
        return this.step(record, S.Running, 'running on the engine');
      case S.Starting:
        if (running) return this.step(record, S.Running, 'running on the engine');
        return engine.state.startedAt
          ? this.exited(record, engine)
          : this.step(record, S.Error, 'start was interrupted');
      case S.Running:
        return running ? record : this.exited(record, engine);
      case S.Stopping: {
        // The stop was asked for and interrupted: finish it rather than undo it.
        if (running) await docker.stop(record.engineId!, 10);
        const after = running ? await docker.inspect(record.engineId!) : engine;
        return this.step(record, S.Stopped, `stopped (exit ${after.state.exitCode})`, {
          exitCode: after.state.exitCode,
        });
      }
      case S.Removing:
        await docker.remove(record.engineId!, { force: true, volumes: true });
        return this.step(record, S.Removed, 'removed from the engine');
      case S.Error:
      case S.Removed:
        return record;
    }
  }

  /** The process ended by itself: its exit code says how, and an OOM kill is an error with that reason. */
  private exited(record: ContainerRecordEntity, engine: ContainerInspection): Promise<ContainerRecordEntity> {
    const exitCode = engine.state.exitCode;
    if (engine.state.oomKilled) return this.step(record, S.Error, 'oom-killed', { exitCode });
    return this.step(record, S.Stopped, `exited with code ${exitCode}`, { exitCode });
  }

  /** A record whose container is gone from the engine is closed, through ERROR where it was still meant to run. */
  private async close(record: ContainerRecordEntity, reason: string): Promise<void> {
    if (record.state !== S.Removing && ![S.Created, S.Stopped, S.Error].includes(record.state)) {
      record = await this.step(record, S.Error, reason);
    }
    if (record.state !== S.Removing) record = await this.step(record, S.Removing, reason);
    await this.step(record, S.Removed, reason);
  }

  private step(
    record: ContainerRecordEntity,
    to: S,
    reason: string,
    extra: Partial<Pick<TransitionChange, 'exitCode' | 'engineId'>> = {},
  ): Promise<ContainerRecordEntity> {
    return this.recorder.move(record, { to, reason, actor: RECONCILER_ACTOR, ...extra });
  }

  private async inspectOrNull(engine: DockerEngine, engineId: string): Promise<ContainerInspection | null> {
    try {
      return await engine.inspect(engineId);
    } catch (error) {
      if (DomainError.is(error, ErrorCode.NotFound)) return null;
      throw error;
    }
  }
}
