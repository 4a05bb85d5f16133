import { DomainError, ErrorCode } from '@app/common';
import { Logger } from '@nestjs/common';
import type Dockerode from 'dockerode';
import type { Duplex } from 'node:stream';
import { toContainerInspection, toContainerSummary } from './container-inspection.mapper';
import { ContainerLogsReader } from './container-logs.parser';
import { toCreateOptions } from './container-spec.mapper';
import { toDaemonSidecarCreateOptions } from './container-spec.mapper';
import { withDeadline } from './deadline';
import { describeEndpoint, EngineTarget } from './docker-client.factory';
import { DEFAULT_DOCKER_ENGINE_OPTIONS, DockerEngineOptions } from './docker-options';
import { EngineCallObserver, NO_ENGINE_CALL_OBSERVER, reportEngineCall } from './engine-call.observer';
import { EngineCallContext, mapEngineError } from './engine-error.mapper';
import type {
  ContainerInspection,
  ContainerSummary,
  EngineContainerSpec,
  EngineInfo,
  EngineVersion,
  ExecOptions,
  ExecResult,
  ListOptions,
  LogsOptions,
  LogsResult,
  RemoveOptions,
  RemoveResult,
  ResourceUsage,
  StartResult,
  StopResult,
} from './engine.types';
import type { DaemonSidecarSpec, RemoveVolumeResult, VolumeSummary } from './engine.types';
import { ExecAbandoned, withExecLimits } from './exec-cancellation';
import { ExecOutputCollector } from './exec-output.collector';
import { newExecMark, reaperCommand } from './exec-reaper';
import { computeResourceUsage, RawStatsSample } from './resource-usage';
import { StatsBaselineCache } from './stats-baseline.cache';
import { StreamDemuxer, StreamDemuxError } from './stream-demux';

const DEFAULT_EXEC_TIMEOUT_MS = 30_000;
const DEFAULT_EXEC_MAX_OUTPUT_BYTES = 1024 * 1024;
const DEFAULT_LOGS_MAX_BYTES = 1024 * 1024;
const EXEC_POLL_MS = 25;

/** Options dockerode's implementation accepts on every call though @types/dockerode omits them on some. */
interface Abortable {
  abortSignal?: AbortSignal;
}

/** The engine-wide calls with the options argument their implementation takes and their typings leave out. */
interface EngineCalls {
  ping(options: Abortable): Promise<unknown>;
  version(options: Abortable): Promise<Dockerode.DockerVersion>;
  info(options: Abortable): Promise<RawInfo>;
}

type StatsQuery = { stream: false; 'one-shot'?: boolean } & Abortable;

/** Thrown inside an exec when its own deadline passes; turned into a Timeout DomainError once cleanup is done. */
class ExecDeadlineExceeded extends Error {}

/**
 * RunnerHub's only door to one Docker engine (EngineRegistry holds one per engine of the fleet). Every call has a
 * deadline (the engine can hang), every failure comes out as a DomainError from mapEngineError naming the engine, and
 * nothing of dockerode leaks through the return types.
 */
export class DockerEngine {
  private readonly logger = new Logger(DockerEngine.name);
  /** The engine's name in the fleet (`default` for DOCKER_HOST alone). */
  readonly name: string;
  /** Where it is, in DOCKER_HOST notation, for messages. */
  readonly endpoint: string;
  private readonly options: DockerEngineOptions;
  private readonly baselines: StatsBaselineCache;
  private readonly engineCalls: EngineCalls;

  constructor(
    private readonly client: Dockerode,
    target: EngineTarget,
    options?: Partial<DockerEngineOptions>,
    private readonly observer: EngineCallObserver = NO_ENGINE_CALL_OBSERVER,
  ) {
    this.name = target.name;
    this.endpoint = describeEndpoint(target.endpoint);
    this.options = { ...DEFAULT_DOCKER_ENGINE_OPTIONS, ...options };
    this.baselines = new StatsBaselineCache(this.options.statsBaselineCapacity, this.options.statsBaselineMaxAgeMs);
    this.engineCalls = client;
  }

  /** Resolves when the engine answers; EngineUnavailable otherwise. */
  async ping(): Promise<void> {
    await this.call('ping', {}, (abortSignal) => this.engineCalls.ping({ abortSignal }));
  }

  async version(): Promise<EngineVersion> {
    const raw = await this.call('read version', {}, (abortSignal) => this.engineCalls.version({ abortSignal }));
    return { version: raw.Version, apiVersion: raw.ApiVersion, os: raw.Os, arch: raw.Arch };
  }

  async info(): Promise<EngineInfo> {
    const raw = await this.call('read info', {}, (abortSignal) => this.engineCalls.info({ abortSignal }));
    const backing = raw.DriverStatus?.find(([key]) => key === 'Backing Filesystem')?.[1];
    return {
      storageDriver: raw.Driver,
      ...(backing ? { backingFilesystem: backing } : {}),
      cgroupVersion: raw.CgroupVersion ?? '1',
      cgroupDriver: raw.CgroupDriver ?? '',
      cpus: raw.NCPU,
      memoryBytes: raw.MemTotal,
      serverVersion: raw.ServerVersion,
    };
  }

  async imageExists(ref: string): Promise<boolean> {
    // dockerode's image inspect takes no abort signal: on a hang the deadline still answers, the request lingers.
    return this.call('inspect image', { image: ref }, async () => {
      try {
        await this.client.getImage(ref).inspect();
        return true;
      } catch (error) {
        if (statusOf(error) === 404) return false;
        throw error;
      }
    });
  }

  /** Creates the container (not started) and returns the engine's id for it. */
  async createContainer(spec: EngineContainerSpec): Promise<string> {
    const options = toCreateOptions(spec);
    const container = await this.call(
      'create container',
      { containerId: spec.name, image: spec.image },
      (abortSignal) => this.client.createContainer({ ...options, abortSignal }),
    );
    return container.id;
  }

  async start(id: string): Promise<StartResult> {
    return this.call('start container', { containerId: id }, async (abortSignal) => {
      try {
        await this.client.getContainer(id).start({ abortSignal });
        return { alreadyRunning: false };
      } catch (error) {
        if (statusOf(error) === 304) return { alreadyRunning: true };
        throw error;
      }
    });
  }

  /**
   * Sends the container's stop signal, waits up to timeoutSeconds, then SIGKILL. A shell or sleep as PID 1 ignores
   * SIGTERM, so without Init the whole timeout is spent (exit 137); with Init the stop takes milliseconds (143).
   */
  async stop(id: string, timeoutSeconds: number): Promise<StopResult> {
    const deadline = timeoutSeconds * 1000 + this.options.controlTimeoutMs;
    return this.call(
      'stop container',
      { containerId: id },
      async (abortSignal) => {
        try {
          await this.client.getContainer(id).stop({ t: timeoutSeconds, abortSignal });
          return { alreadyStopped: false };
        } catch (error) {
          if (statusOf(error) === 304) return { alreadyStopped: true };
          throw error;
        }
      },
      deadline,
    );
  }

  async kill(id: string, signal = 'SIGKILL'): Promise<void> {
    await this.call('kill container', { containerId: id }, (abortSignal) =>
      this.client.getContainer(id).kill({ signal, abortSignal }),
    );
  }

  async remove(id: string, options: RemoveOptions = {}): Promise<RemoveResult> {
    this.baselines.forget(id);
    return this.call('remove container', { containerId: id }, async (abortSignal) => {
      try {
        await this.client
          .getContainer(id)
          .remove({ force: options.force ?? false, v: options.volumes ?? false, abortSignal });
        return { alreadyGone: false };
      } catch (error) {
        if (statusOf(error) === 404) return { alreadyGone: true };
        throw error;
      }
    });
  }

  async inspect(id: string): Promise<ContainerInspection> {
    const raw = await this.call('inspect container', { containerId: id }, (abortSignal) =>
      this.client.getContainer(id).inspect({ abortSignal }),
    );
    return toContainerInspection(raw);
  }

  /** Containers carrying every given label (true: the label is present, with any value). */
  async listByLabel(labels: Record<string, string | true>, options: ListOptions = {}): Promise<ContainerSummary[]> {
    const label = Object.entries(labels).map(([key, value]) => (value === true ? key : `${key}=${value}`));
    const raw = await this.call('list containers', {}, (abortSignal) =>
      this.client.listContainers({ all: options.all ?? true, filters: { label }, abortSignal }),
    );
    return raw.map(toContainerSummary);
  }

  /**
   * Creates a job's own Docker daemon container (the `docker` runner profile): the one container that may be
   * privileged, through its own spec type and mapper (see toDaemonSidecarCreateOptions). Returns the engine's id.
   */
  async createDaemonSidecar(spec: DaemonSidecarSpec): Promise<string> {
    const options = toDaemonSidecarCreateOptions(spec);
    const container = await this.call(
      'create daemon sidecar',
      { containerId: spec.name, image: spec.image },
      (abortSignal) => this.client.createContainer({ ...options, abortSignal }),
    );
    return container.id;
  }

  /**
   * Creates a named volume (local driver) with the given labels. The engine answers an existing name with that
   * volume unchanged (its labels included), so a repeated call is harmless; the labels returned are the volume's own.
   */
  async createVolume(name: string, labels: Record<string, string>): Promise<VolumeSummary> {
    const raw = await this.call('create volume', {}, async (abortSignal) => {
      const volume = await this.client.createVolume({ Name: name, Driver: 'local', Labels: labels, abortSignal });
      const inspected: RawVolume = await volume.inspect({ abortSignal });
      return inspected;
    });
    return toVolumeSummary(raw);
  }

  /**
   * Removes a named volume. A volume that is not there answers alreadyGone (not an error); one that a container
   * still mounts (even a stopped one) is a Conflict naming that container: remove the container first.
   */
  async removeVolume(name: string): Promise<RemoveVolumeResult> {
    return this.call('remove volume', {}, async (abortSignal) => {
      try {
        await this.client.getVolume(name).remove({ abortSignal });
        return { alreadyGone: false };
      } catch (error) {
        if (statusOf(error) === 404) return { alreadyGone: true };
        throw error;
      }
    });
  }

  /** Volumes carrying every given label (true: the label is present, with any value). */
  async listVolumesByLabel(labels: Record<string, string | true>): Promise<VolumeSummary[]> {
    const label = Object.entries(labels).map(([key, value]) => (value === true ? key : `${key}=${value}`));
    const raw = (await this.call('list volumes', {}, (abortSignal) =>
      this.client.listVolumes({ filters: { label }, abortSignal }),
    )) as { Volumes?: RawVolume[] | null };
    return (raw.Volumes ?? []).map(toVolumeSummary);
  }

  /**
   * Runs a command in a running container and waits for its exit code.
   *
   * Output: stdout and stderr are kept up to maxOutputBytes together; the rest is read and dropped (truncated=true)
   * so that the exit code is still known. The whole exec, output included, must finish within timeoutMs.
   * Timeout: the stream is destroyed, and since the engine keeps a hung-up exec running, the exec's processes are
   * then SIGKILLed by mark (see exec-reaper.ts); the DomainError(Timeout) says in details.killed whether that was
   * confirmed. A command that is not found is not an error here: the engine reports it as exit code 126 or 127
   * with its reason on stdout, as `docker exec` does.
   * Abandoned: when `signal` aborts (the HTTP client hung up), the exec is torn down and reaped exactly as on a
   * timeout, for the same reason, and the call then rejects with the signal's reason, as fetch does.
   */
  async exec(id: string, options: ExecOptions, signal?: AbortSignal): Promise<ExecResult> {
    const { command } = options;
    if (!Array.isArray(command) || command.length === 0 || command.some((arg) => typeof arg !== 'string')) {
      throw new DomainError(ErrorCode.ValidationFailed, 'exec command must be a non-empty array of strings', {
        containerId: id,
      });
    }
    const timeoutMs = options.timeoutMs ?? DEFAULT_EXEC_TIMEOUT_MS;
    const collector = new ExecOutputCollector(options.maxOutputBytes ?? DEFAULT_EXEC_MAX_OUTPUT_BYTES);
    const mark = newExecMark();
    const session: { exec?: Dockerode.Exec; socket?: Duplex } = {};
    const context: EngineCallContext = { endpoint: this.endpoint, operation: 'exec', containerId: id };
    try {
      return await withExecLimits(
        timeoutMs,
        signal,
        async (abortSignal) => {
          session.exec = await this.client.getContainer(id).exec({
            Cmd: command,
            User: options.user,
            WorkingDir: options.workingDir,
            Env: [...(options.env ?? []), mark],
            AttachStdin: false,
            AttachStdout: true,
            AttachStderr: true,
            Tty: false,
            abortSignal,
          });
          session.socket = await session.exec.start({ hijack: true, stdin: false, abortSignal });
          if (abortSignal.aborted) session.socket.destroy();
          await pumpMultiplexed(session.socket, collector);
          const exitCode = await waitForExit(session.exec, abortSignal);
          return { exitCode, ...collector.result() };
        },
        () => new ExecDeadlineExceeded(),
      );
    } catch (error) {
      session.socket?.destroy();
      if (error instanceof ExecDeadlineExceeded)
        throw await this.execTimedOut(id, options, timeoutMs, mark, session.exec, collector);
      if (error instanceof ExecAbandoned) {
        // No exec object yet: its creation was aborted, and a start is never sent on an aborted signal.
        const outcome = !session.exec
          ? 'before it started'
          : (await this.reap(id, session.exec, mark, options.user))
            ? 'and was killed'
            : 'and could not be confirmed killed';
        this.logger.log(`Command ${JSON.stringify(command)} in container ${id} was abandoned by its caller ${outcome}`);
        signal?.throwIfAborted();
        throw error;
      }
      if (error instanceof StreamDemuxError) {
        const message = `Docker engine sent an unreadable exec stream: ${error.message}`;
        throw new DomainError(ErrorCode.EngineRejected, message, { containerId: id });
      }
      throw mapEngineError(error, context);
    }
  }

  /**
   * The last lines of the container's output, stdout and stderr told apart, at most `maxBytes` of them (the newest
   * that fit, with `truncated` set when any were left out). The body is read as it arrives through a bounded tail:
   * `tail: 10000` of a container that prints long lines never sits in memory whole.
   */
  async logs(id: string, options: LogsOptions = {}): Promise<LogsResult> {
    const timestamps = options.timestamps ?? false;
    const since = options.since instanceof Date ? options.since.getTime() / 1000 : options.since;
    const reader = new ContainerLogsReader({ timestamps, maxBytes: options.maxBytes ?? DEFAULT_LOGS_MAX_BYTES });
    const query = { stdout: true, stderr: true, follow: false, tail: options.tail ?? 100, timestamps, since };
    const unreadable = await this.call('read logs', { containerId: id }, async (abortSignal) =>
      readLogBody(await this.openLogBody(id, query, abortSignal), reader),
    );
    try {
      if (unreadable) throw unreadable;
      return reader.end();
    } catch (error) {
      throw new DomainError(
        ErrorCode.EngineRejected,
        `Logs of container ${id} are not in the multiplexed format: ${(error as Error).message}`,
        { containerId: id },
      );
    }
  }

  /**
   * The logs body as a stream. dockerode's `logs()` buffers the whole body unless `follow` is set (and with `follow`
   * the body never ends), so the request is made through its modem, as dockerode makes it, with the body streamed.
   */
  private openLogBody(
    id: string,
    query: Record<string, unknown>,
    abortSignal: AbortSignal,
  ): Promise<NodeJS.ReadableStream> {
    const options = Object.fromEntries(Object.entries(query).filter(([, value]) => value !== undefined));
    return new Promise((resolve, reject) => {
      this.client.modem.dial(
        {
          path: `/containers/${id}/logs?`,
          method: 'GET',
          isStream: true,
          abortSignal,
          statusCodes: { 200: true, 404: 'no such container', 500: 'server error' },
          options,
        },
        (error, body) => (error ? reject(error) : resolve(body as NodeJS.ReadableStream)),
      );
    });
  }

  /**
   * One resource sample, computed as `docker stats` does. With a recent previous sample of the same container the
   * engine is asked for a one-shot sample (30 ms when its collector is idle, at most 1 s) and CPU is measured between
   * the two; without one, for a stream:false sample (1 to 2 s) whose precpu gives a 1 s CPU window.
   */
  async stats(id: string): Promise<ResourceUsage> {
    const baseline = this.baselines.get(id, Date.now());
    const container = this.client.getContainer(id) as unknown as { stats(query: StatsQuery): Promise<RawStatsSample> };
    const raw = await this.call(
      'sample resource usage',
      { containerId: id },
      (abortSignal) =>
        container.stats(baseline ? { stream: false, 'one-shot': true, abortSignal } : { stream: false, abortSignal }),
      this.options.statsTimeoutMs,
      ErrorCode.Timeout,
    );
    const usage = computeResourceUsage(raw, baseline);
    // A container that is not running samples as zeros: no baseline worth keeping.
    if (raw.read && !raw.read.startsWith('0001-')) this.baselines.remember(raw.id ?? id, raw, Date.now());
    return usage;
  }

  private async call<T>(
    operation: string,
    target: Pick<EngineCallContext, 'containerId' | 'image'>,
    work: (signal: AbortSignal) => Promise<T>,
    timeoutMs = this.options.controlTimeoutMs,
    timeoutCode: ErrorCode.EngineUnavailable | ErrorCode.Timeout = ErrorCode.EngineUnavailable,
  ): Promise<T> {
    const context: EngineCallContext = { endpoint: this.endpoint, operation, ...target };
    const startedAt = performance.now();
    try {
      const result = await withDeadline(
        timeoutMs,
        work,
        () =>
          new DomainError(
            timeoutCode,
            `Docker engine at ${this.endpoint} did not answer ${operation} within ${timeoutMs} ms`,
            {
              endpoint: this.endpoint,
              operation,
              timeoutMs,
              ...target,
            },
          ),
      );
      this.observe(operation, startedAt, null);
      return result;
    } catch (error) {
      const mapped = mapEngineError(error, context);
      this.observe(operation, startedAt, mapped);
      throw mapped;
    }
  }

  /** Tells the observer (metrics) how the call went. */
  private observe(operation: string, startedAt: number, error: Error | null): void {
    reportEngineCall(this.observer, this.logger, this.name, operation, startedAt, error);
  }

  private async execTimedOut(
    id: string,
    options: ExecOptions,
    timeoutMs: number,
    mark: string,
    exec: Dockerode.Exec | undefined,
    collector: ExecOutputCollector,
  ): Promise<DomainError> {
    const killed = exec ? await this.reap(id, exec, mark, options.user) : true;
    const partial = collector.result();
    return new DomainError(
      ErrorCode.Timeout,
      `Command ${JSON.stringify(options.command)} in container ${id} did not finish within ${timeoutMs} ms` +
        (!exec
          ? ' (the engine had not even created it)'
          : killed
            ? ' and was killed'
            : ' and could not be confirmed killed'),
      {
        containerId: id,
        command: options.command,
        timeoutMs,
        killed,
        partialOutput: partial.output.slice(0, 4096),
      },
    );
  }

  /** SIGKILLs whatever the timed-out exec left running, then waits until the engine sees it gone. */
  private async reap(id: string, exec: Dockerode.Exec, mark: string, user: string | undefined): Promise<boolean> {
    try {
      return await withDeadline(
        this.options.execCleanupTimeoutMs,
        async (abortSignal) => {
          // Even when the exec does not look running yet: its start may still be on the way to the engine.
          const reaper = await this.client.getContainer(id).exec({
            Cmd: reaperCommand(mark),
            User: user,
            AttachStdout: true,
            AttachStderr: true,
            Tty: false,
            abortSignal,
          });
          const socket = await reaper.start({ hijack: true, stdin: false, abortSignal });
          await pumpMultiplexed(socket, new ExecOutputCollector(4096)).finally(() => socket.destroy());
          await waitForExit(exec, abortSignal);
          return true;
        },
        () => new Error(`no confirmation within ${this.options.execCleanupTimeoutMs} ms`),
      );
    } catch (error) {
      this.logger.warn(
        `A timed-out exec in container ${id} may still be running (${(error as Error).message}); ` +
          'the image needs sh, tr and grep for RunnerHub to kill it',
      );
      return false;
    }
  }
}

interface RawInfo {
  Driver: string;
  DriverStatus?: Array<[string, string]>;
  CgroupVersion?: string;
  CgroupDriver?: string;
  NCPU: number;
  MemTotal: number;
  ServerVersion: string;
}

/** A volume as the engine describes it (list and inspect); @types/dockerode's typing omits CreatedAt. */
interface RawVolume {
  Name: string;
  Driver: string;
  Labels?: Record<string, string> | null;
  CreatedAt?: string;
}

function toVolumeSummary(raw: RawVolume): VolumeSummary {
  const created = raw.CreatedAt ? new Date(raw.CreatedAt) : null;
  return {
    name: raw.Name,
    driver: raw.Driver,
    labels: raw.Labels ?? {},
    created: created && !Number.isNaN(created.getTime()) ? created : null,
  };
}

function statusOf(error: unknown): number | undefined {
  const status = (error as { statusCode?: unknown } | null)?.statusCode;
  return typeof status === 'number' ? status : undefined;
}

/** Feeds a hijacked exec stream through the demultiplexer into the collector until the engine closes it. */
function pumpMultiplexed(socket: Duplex, collector: ExecOutputCollector): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const demuxer = new StreamDemuxer();
    socket.on('data', (chunk: Buffer) => {
      try {
        for (const piece of demuxer.push(chunk)) collector.add(piece.stream, piece.data);
      } catch (error) {
        socket.destroy();
        reject(error instanceof Error ? error : new Error(String(error)));
      }
    });
    socket.once('error', reject);
    socket.once('end', () => resolve());
    socket.once('close', () => resolve());
  });
}

/**
 * Reads a logs body into the reader until it ends. A body that is not multiplexed resolves with the demultiplexer's
 * error instead of rejecting: the engine answered, so it is not an engine failure for the call's error mapping.
 */
function readLogBody(body: NodeJS.ReadableStream, reader: ContainerLogsReader): Promise<StreamDemuxError | undefined> {
  const stream = body as NodeJS.ReadableStream & { destroy?(): void };
  return new Promise((resolve, reject) => {
    stream.on('data', (chunk: Buffer) => {
      try {
        reader.push(chunk);
      } catch (error) {
        stream.removeAllListeners('data');
        stream.destroy?.();
        if (error instanceof StreamDemuxError) resolve(error);
        else reject(error instanceof Error ? error : new Error(String(error)));
      }
    });
    let ended = false;
    stream.once('end', () => {
      ended = true;
      resolve(undefined);
    });
    stream.once('error', reject);
    // A connection cut mid-body would otherwise answer with part of the logs as if they were all.
    stream.once('close', () => {
      if (!ended) reject(new Error('the engine closed the logs body before its end'));
    });
  });
}

/** The stream can close a moment before the engine records the exit code: poll until it has. */
async function waitForExit(exec: Dockerode.Exec, abortSignal: AbortSignal): Promise<number> {
  for (;;) {
    const info = await exec.inspect({ abortSignal });
    if (!info.Running) return info.ExitCode ?? -1;
    await new Promise((resolve) => setTimeout(resolve, EXEC_POLL_MS));
    if (abortSignal.aborted) throw new Error('aborted while waiting for the exit code');
  }
}
