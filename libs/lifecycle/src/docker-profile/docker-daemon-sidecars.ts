import { DomainError, ErrorCode, RunnerHubLabel } from '@app/common';
import { DAEMON_SIDECAR_TYPE, DockerEngine } from '@app/docker';
import type { ContainerStatus } from '@app/docker';
import { Logger } from '@nestjs/common';
import {
  attachmentFor,
  DEFAULT_DOCKER_DAEMON_SIDECAR_OPTIONS,
  DOCKER_HOST_VALUE,
  DockerDaemonSidecarOptions,
  isPrivilegedRefusal,
  RUNNER_WORK_DIR,
  SIDECAR_VOLUME_ROLES,
  SidecarAttachment,
  sidecarContainerName,
  SidecarLabel,
  SidecarMode,
  sidecarSpec,
  SidecarUnit,
  sidecarVolumeName,
  volumeLabels,
} from './sidecar-spec';

/** A unit as the engine shows it: the daemon container(s) and volumes that carry its `runnerhub.unit` label. */
export interface SidecarUnitSummary {
  recordId: string;
  containers: Array<{ id: string; name: string; state: ContainerStatus; created: Date }>;
  volumes: string[];
  /** The oldest creation time among its parts (null when the engine gave none), for a grace period. */
  created: Date | null;
}

export interface SidecarReleaseResult {
  containersRemoved: number;
  volumesRemoved: number;
}

/** The command line probed until the nested daemon answers; the docker CLI is in docker:dind and the test image. */
const READY_PROBE = ['docker', 'version', '--format', '{{.Server.Version}}'];
const NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]+$/;

/**
 * The `docker` runner profile's per-job Docker daemon: a daemon container beside the runner (never the host's socket),
 * with the volumes the two share, made, started, stopped and removed as one unit.
 *
 * prepare() makes the unit and waits until its daemon answers; the runner container is then created with what it
 * returns (network namespace, mounts, DOCKER_HOST). The runner must be removed before release(), which removes the
 * daemon and every volume (a volume still mounted by a container is a Conflict). Calls for the same record must not
 * overlap: the caller holds the record's lock. Every part carries `runnerhub.unit=<recordId>`, so listUnits() and
 * findOrphans() see what a crash left behind. One per engine (RunnerDaemons keeps them): a unit lives on its runner's
 * engine.
 */
export class DockerDaemonSidecars {
  private readonly logger = new Logger(DockerDaemonSidecars.name);
  readonly options: DockerDaemonSidecarOptions;
  /** Set once privileged was refused by this host: later units go straight to the capabilities mode. */
  private privilegedRefused = false;

  constructor(
    private readonly engine: DockerEngine,
    options?: Partial<DockerDaemonSidecarOptions>,
  ) {
    this.options = { ...DEFAULT_DOCKER_DAEMON_SIDECAR_OPTIONS, ...options };
  }

  /** The mode the next unit starts in: privileged where configuration allows it and the host has not refused it. */
  get mode(): SidecarMode {
    return this.options.privileged && !this.privilegedRefused ? 'privileged' : 'capabilities';
  }

  /**
   * Makes the unit's volumes and daemon container, starts the daemon and waits until it answers. On any failure
   * whatever this call made is removed again and the error is thrown; a unit already on the engine for the record is
   * a Conflict (and is left alone: release() it first).
   */
  async prepare(unit: SidecarUnit): Promise<SidecarAttachment> {
    this.check(unit);
    const existing = await this.unit(unit.recordId);
    if (existing) {
      throw new DomainError(
        ErrorCode.Conflict,
        `Record ${unit.recordId} already has a Docker daemon unit on the engine ` +
          `(${[...existing.containers.map((c) => c.name), ...existing.volumes].join(', ')}): release it first`,
        { recordId: unit.recordId },
      );
    }
    const made = { containers: [] as string[], volumes: [] as string[] };
    try {
      for (const role of SIDECAR_VOLUME_ROLES) {
        const name = sidecarVolumeName(unit, role);
        const volume = await this.engine.createVolume(name, volumeLabels(unit, role));
        // The engine hands back an existing volume of that name unchanged: one that is not this unit's is not ours.
        if (volume.labels[SidecarLabel.Unit] !== unit.recordId) {
          throw new DomainError(ErrorCode.Conflict, `Volume ${name} already exists and belongs to something else`, {
            recordId: unit.recordId,
            volume: name,
          });
        }
        made.volumes.push(name);
      }
      const { engineId, mode, startedAt } = await this.createAndStart(unit, made.containers);
      const { daemonVersion, readyAfterMs } = await this.waitUntilReady(engineId, startedAt);
      await this.handOverWorkDir(engineId);
      this.logger.log(
        `Docker daemon ${sidecarContainerName(unit)} (${mode}, ${daemonVersion}) answered ${Math.round(readyAfterMs)} ms after its start`,
      );
      return attachmentFor(unit, { engineId, mode, daemonVersion, readyAfterMs });
    } catch (error) {
      await this.removeParts(made.containers, made.volumes).catch((cleanup: unknown) =>
        this.logger.warn(`Could not remove the failed unit of record ${unit.recordId}: ${describe(cleanup)}`),
      );
      throw error;
    }
  }

  /**
   * Stops and removes the unit's daemon container and every volume of the unit. Idempotent: parts already gone are
   * not an error. Remove the runner container first: a volume it still mounts cannot go (Conflict, after everything
   * else was removed; a second call finishes the job).
   */
  async release(recordId: string): Promise<SidecarReleaseResult> {
    const containers = await this.engine.listByLabel(
      { [RunnerHubLabel.Managed]: 'true', [SidecarLabel.Unit]: recordId, [RunnerHubLabel.Type]: DAEMON_SIDECAR_TYPE },
      { all: true },
    );
    const volumes = await this.engine.listVolumesByLabel({
      [RunnerHubLabel.Managed]: 'true',
      [SidecarLabel.Unit]: recordId,
    });
    const result = await this.removeParts(
      containers.map((c) => c.id),
      volumes.map((v) => v.name),
      containers.filter((c) => c.state === 'running').map((c) => c.id),
    );
    if (result.containersRemoved + result.volumesRemoved > 0) {
      this.logger.log(
        `Released the Docker daemon unit of record ${recordId}: ${result.containersRemoved} container(s), ` +
          `${result.volumesRemoved} volume(s)`,
      );
    }
    return result;
  }

  /** The unit of one record as the engine shows it; null when nothing of it is there. */
  async unit(recordId: string): Promise<SidecarUnitSummary | null> {
    const units = await this.collect({ [SidecarLabel.Unit]: recordId });
    return units[0] ?? null;
  }

  /** Every unit on the engine, by the labels of its parts. */
  async listUnits(): Promise<SidecarUnitSummary[]> {
    return this.collect({ [SidecarLabel.Unit]: true });
  }

  /**
   * The units whose record the caller no longer knows (isLive answers false): what a crash or a lost release left
   * behind. Apply a grace period on `created` if records can be written after their unit is made.
   */
  async findOrphans(isLive: (recordId: string) => boolean | Promise<boolean>): Promise<SidecarUnitSummary[]> {
    const orphans: SidecarUnitSummary[] = [];
    for (const unit of await this.listUnits()) {
      if (!(await isLive(unit.recordId))) orphans.push(unit);
    }
    return orphans;
  }

  private check(unit: SidecarUnit): void {
    const problems: string[] = [];
    if (!unit.recordId) problems.push('recordId is required');
    if (!unit.name || !NAME.test(unit.name))
      problems.push('name must be a container name ([a-zA-Z0-9][a-zA-Z0-9_.-]+)');
    if (problems.length > 0) {
      throw new DomainError(ErrorCode.ValidationFailed, `Docker daemon unit refused: ${problems.join('; ')}`, {
        problems,
      });
    }
  }

  /**
   * Creates and starts the daemon container. Privileged first where configuration allows it; if the host refuses
   * privileged (its bounding set lacks a capability), once and for all in this process the capabilities mode.
   */
  private async createAndStart(
    unit: SidecarUnit,
    made: string[],
  ): Promise<{ engineId: string; mode: SidecarMode; startedAt: number }> {
    let mode = this.mode;
    for (;;) {
      const engineId = await this.engine.createDaemonSidecar(sidecarSpec(unit, this.options, mode));
      made.push(engineId);
      const startedAt = performance.now();
      try {
        await this.engine.start(engineId);
        return { engineId, mode, startedAt };
      } catch (error) {
        if (mode !== 'privileged' || !isPrivilegedRefusal(error)) throw error;
        this.privilegedRefused = true;
        this.logger.warn(
          `This host refuses privileged containers (${describe(error)}); Docker daemons run in the capabilities ` +
            'mode from now on (every capability but SYS_RESOURCE, no seccomp or AppArmor profile, host cgroups)',
        );
        await this.engine.remove(engineId, { force: true, volumes: true });
        made.pop();
        mode = 'capabilities';
      }
    }
  }

  /** Probes the daemon through its own CLI until it answers, the container dies, or readyTimeoutMs passes. */
  private async waitUntilReady(
    engineId: string,
    startedAt: number,
  ): Promise<{ daemonVersion: string; readyAfterMs: number }> {
    const deadline = startedAt + this.options.readyTimeoutMs;
    let last = 'no answer yet';
    for (;;) {
      const remaining = deadline - performance.now();
      try {
        const probe = await this.engine.exec(engineId, {
          command: READY_PROBE,
          env: [`DOCKER_HOST=${DOCKER_HOST_VALUE}`],
          timeoutMs: Math.min(10_000, Math.max(1_000, remaining)),
          maxOutputBytes: 4_096,
        });
        const version = probe.stdout.trim();
        if (probe.exitCode === 0 && version) {
          return { daemonVersion: version, readyAfterMs: performance.now() - startedAt };
        }
        last = `exit ${probe.exitCode}: ${probe.output.trim().split('\n').slice(-2).join(' ')}`;
      } catch (error) {
        // Conflict: the container is not running, so the daemon died; anything else but a probe timeout is engine
        // trouble that waiting does not cure.
        if (error instanceof DomainError && error.code === ErrorCode.Conflict) throw await this.died(engineId);
        if (!(error instanceof DomainError && error.code === ErrorCode.Timeout)) throw error;
        last = error.message;
      }
      if (performance.now() >= deadline) {
        throw new DomainError(
          ErrorCode.Timeout,
          `The Docker daemon in ${engineId.slice(0, 12)} did not answer within ${this.options.readyTimeoutMs} ms ` +
            `(last probe: ${last}); its log ends: ${await this.logTail(engineId)}`,
          { containerId: engineId, timeoutMs: this.options.readyTimeoutMs },
        );
      }
      await new Promise((resolve) => setTimeout(resolve, this.options.readyPollMs));
    }
  }

  /** The work volume is root's when made; the runner (a user, not root) writes its jobs there. */
  private async handOverWorkDir(engineId: string): Promise<void> {
    const result = await this.engine.exec(engineId, {
      command: ['chown', this.options.workOwner, RUNNER_WORK_DIR],
      timeoutMs: 10_000,
    });
    if (result.exitCode !== 0) {
      throw new DomainError(
        ErrorCode.EngineRejected,
        `Could not give ${RUNNER_WORK_DIR} to ${this.options.workOwner} in the Docker daemon container: ${result.output.trim()}`,
        { containerId: engineId },
      );
    }
  }

  private async died(engineId: string): Promise<DomainError> {
    const state = await this.engine.inspect(engineId).then(
      (i) =>
        `exit code ${i.state.exitCode}${i.state.oomKilled ? ', OOM-killed' : ''}${i.state.error ? `, ${i.state.error}` : ''}`,
      () => 'gone',
    );
    return new DomainError(
      ErrorCode.EngineRejected,
      `The Docker daemon in ${engineId.slice(0, 12)} stopped before it answered (${state}); its log ends: ` +
        (await this.logTail(engineId)),
      { containerId: engineId },
    );
  }

  private async logTail(engineId: string): Promise<string> {
    try {
      const { lines } = await this.engine.logs(engineId, { tail: 5 });
      return lines.map((line) => line.text).join(' | ') || '(empty)';
    } catch {
      return '(unreadable)';
    }
  }

  /** Stops (with the configured grace) and removes containers, then removes volumes; gone parts count for nothing. */
  private async removeParts(
    containers: string[],
    volumes: string[],
    running: string[] = containers,
  ): Promise<SidecarReleaseResult> {
    let containersRemoved = 0;
    let volumesRemoved = 0;
    for (const id of containers) {
      if (this.options.stopTimeoutSeconds > 0 && running.includes(id)) {
        await this.engine.stop(id, this.options.stopTimeoutSeconds).catch((error: unknown) => {
          if (!(error instanceof DomainError && error.code === ErrorCode.NotFound)) throw error;
        });
      }
      // force: SIGKILL to the daemon's init kills everything in its PID namespace, nested containers included;
      // their cgroups lie under the daemon's and go with it (measured).
      if (!(await this.engine.remove(id, { force: true, volumes: true })).alreadyGone) containersRemoved += 1;
    }
    const inUse: string[] = [];
    for (const name of volumes) {
      try {
        if (!(await this.engine.removeVolume(name)).alreadyGone) volumesRemoved += 1;
      } catch (error) {
        if (!(error instanceof DomainError && error.code === ErrorCode.Conflict)) throw error;
        inUse.push(name);
      }
    }
    if (inUse.length > 0) {
      throw new DomainError(
        ErrorCode.Conflict,
        `Volume(s) ${inUse.join(', ')} are still mounted by a container (the runner?): remove it, then release again`,
        { volumes: inUse },
      );
    }
    return { containersRemoved, volumesRemoved };
  }

  private async collect(unitSelector: Record<string, string | true>): Promise<SidecarUnitSummary[]> {
    const managed = { [RunnerHubLabel.Managed]: 'true', ...unitSelector };
    const [containers, volumes] = await Promise.all([
      this.engine.listByLabel({ ...managed, [RunnerHubLabel.Type]: DAEMON_SIDECAR_TYPE }, { all: true }),
      this.engine.listVolumesByLabel(managed),
    ]);
    const units = new Map<string, SidecarUnitSummary>();
    const unitOf = (recordId: string) => {
      let unit = units.get(recordId);
      if (!unit) units.set(recordId, (unit = { recordId, containers: [], volumes: [], created: null }));
      return unit;
    };
    const older = (a: Date | null, b: Date | null) => (!a ? b : !b ? a : a < b ? a : b);
    for (const c of containers) {
      const unit = unitOf(c.labels[SidecarLabel.Unit]);
      unit.containers.push({ id: c.id, name: c.names[0] ?? c.id, state: c.state, created: c.created });
      unit.created = older(unit.created, c.created);
    }
    for (const v of volumes) {
      const unit = unitOf(v.labels[SidecarLabel.Unit]);
      unit.volumes.push(v.name);
      unit.created = older(unit.created, v.created);
    }
    return [...units.values()];
  }
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
