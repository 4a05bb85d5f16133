import {
  AppConfig,
  checkEngineCapacity,
  checkEngineDefinition,
  checkEngineLabels,
  DomainError,
  EngineEvent,
  EngineFieldProblem,
  EngineSetting,
  ErrorCode,
  errorMessage,
} from '@app/common';
import { describeEndpoint, EngineRegistry } from '@app/docker';
import { EngineChanges, EngineEntity, EngineRepository } from '@app/persistence';
import { Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown, OnModuleInit } from '@nestjs/common';
import { SchedulerRegistry } from '@nestjs/schedule';
import { EngineChangeNotifier } from './engine-change.notifier';
import { EngineContact } from './engine-contact';
import { toEngineDefinition, toEngineSetting } from './engine-definitions';

const REFRESH_INTERVAL = 'fleet:catalog-refresh';
/** Tries of an update that keeps meeting other writes to its engine before the caller gets the CONFLICT. */
const UPDATE_ATTEMPTS = 5;

/** The engine changed between reading and writing it (the repository's versioned update said CONFLICT). */
class StaleEngine extends Error {
  constructor(override readonly cause: DomainError) {
    super(cause.message);
  }
}

/** An engine as POST /api/engines gives it: DOCKER_ENGINES' fields, with its rules. */
export interface EngineDefinitionInput {
  name: string;
  host: string;
  tlsVerify?: boolean;
  certPath?: string;
  labels?: string[];
  memoryMb?: number;
  cpus?: number;
  maxContainers?: number;
  network?: string;
}

/** What PATCH /api/engines/:name may change: labels and capacity (null: read it from `info`), and an undrain. */
export interface EngineUpdateInput {
  labels?: string[];
  memoryMb?: number | null;
  cpus?: number | null;
  maxContainers?: number | null;
  state?: 'active';
}

/**
 * The fleet's engines as data. Before anything else starts it writes the configured engines (DOCKER_ENGINES, or
 * DOCKER_HOST as `default`) into the `engines` table and connects every engine of the table the configuration does
 * not name (those added through the API, on this replica or another); then, on every replica (each needs clients of
 * its own), it looks for new rows every ENGINE_PROBE_INTERVAL_MS. The API adds, changes and drains engines here.
 */
@Injectable()
export class EngineCatalog implements OnModuleInit, OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('Fleet');
  /** Engines that could not be connected on this replica, with why: said once, not at every refresh. */
  private readonly unconnectable = new Map<string, string>();
  private refreshing: Promise<void> | null = null;

  constructor(
    private readonly config: AppConfig,
    private readonly engines: EngineRegistry,
    private readonly repository: EngineRepository,
    private readonly contact: EngineContact,
    private readonly changes: EngineChangeNotifier,
    private readonly scheduler: SchedulerRegistry,
  ) {}

  /**
   * At module init rather than application bootstrap: every bootstrap hook (the reconciler's first pass, the
   * dispatcher) then finds the whole fleet in the table and in the registry.
   */
  async onModuleInit(): Promise<void> {
    for (const setting of this.config.engines) await this.repository.upsertConfigured(toEngineDefinition(setting));
    await this.refresh();
  }

  onApplicationBootstrap(): void {
    const tick = () => {
      if (this.refreshing) return;
      this.refreshing = this.refresh()
        .catch((error: unknown) => this.logger.warn(`Reading the engines table failed: ${errorMessage(error)}`))
        .finally(() => (this.refreshing = null));
    };
    this.scheduler.addInterval(REFRESH_INTERVAL, setInterval(tick, this.config.engineProbe.intervalMs));
  }

  async onApplicationShutdown(): Promise<void> {
    if (this.scheduler.doesExist('interval', REFRESH_INTERVAL)) this.scheduler.deleteInterval(REFRESH_INTERVAL);
    await this.refreshing;
  }

  /**
   * Brings the registry in line with the table: connects the engines that are rows only (new ones, or one whose
   * endpoint changed) and lets go of those no longer there. Configured engines are the configuration's and stay.
   */
  async refresh(): Promise<void> {
    const rows = await this.repository.list();
    const configured = new Set(this.config.engines.map((setting) => setting.name));
    for (const row of rows) {
      if (configured.has(row.name)) continue;
      this.connect(toEngineSetting(row));
    }
    const listed = new Set(rows.map((row) => row.name));
    for (const connection of this.engines.all()) {
      if (!configured.has(connection.name) && !listed.has(connection.name)) this.engines.remove(connection.name);
    }
  }

  /**
   * Adds an engine (source `api`): checked with DOCKER_ENGINES' rules, pinged first (ENGINE_UNAVAILABLE, naming what
   * was tried, when it does not answer, unless `force`), written, connected, announced. CONFLICT when the name is
   * taken.
   */
  async add(input: EngineDefinitionInput, actor: string, options: { force?: boolean } = {}): Promise<EngineEntity> {
    const { engine: setting, problems } = checkEngineDefinition({ ...input });
    if (!setting) throw invalid(problems);
    await this.requireFreeName(setting.name);
    const answer = await this.contact.ask(setting);
    if (!answer.answered && !options.force) {
      throw new DomainError(
        ErrorCode.EngineUnavailable,
        `Engine ${setting.name} at ${describeEndpoint(setting.endpoint)} did not answer (${answer.tried}: ` +
          `${answer.error}); nothing was added. Check the host, that dockerd listens there and, with TLS, the ` +
          'certificates; or send force: true to add it anyway (it is then unreachable until it answers)',
        {
          engine: setting.name,
          endpoint: describeEndpoint(setting.endpoint),
          tried: answer.tried,
          error: answer.error,
        },
      );
    }
    const added = await this.repository.insert(toEngineDefinition(setting), 'api');
    if (answer.answered) {
      const info = answer.info
        ? { memoryMb: Math.floor(answer.info.memoryBytes / 1024 / 1024), cpuMillis: answer.info.cpus * 1000 }
        : null;
      await this.repository.recordSeen(setting.name, new Date(), info);
    }
    this.connect(setting);
    await this.changes.announce(EngineEvent.Added, {
      engine: setting.name,
      previousState: null,
      state: added.state,
      reason: answer.answered
        ? `added by ${actor}`
        : `added by ${actor} with force, without an answer (${answer.error})`,
      actor,
    });
    return this.repository.get(setting.name);
  }

  /**
   * Changes an engine's labels or capacity (engines added through the API only: a configured engine's definition is
   * the configuration's), and undrains it (`state: active`, from draining or drained).
   */
  async update(name: string, input: EngineUpdateInput, actor: string): Promise<EngineEntity> {
    const definition = this.checkChanges(input);
    // The prober writes each engine every interval (and every write moves its version on): an update that meets one
    // of those writes reads the engine again and decides again, rather than refusing the caller.
    for (let attempt = 1; ; attempt += 1) {
      const engine = await this.repository.get(name);
      try {
        return await this.updateFrom(engine, definition, input, actor);
      } catch (error) {
        if (!(error instanceof StaleEngine)) throw error;
        if (attempt >= UPDATE_ATTEMPTS) throw error.cause;
      }
    }
  }

  private async updateFrom(
    engine: EngineEntity,
    definition: Omit<EngineChanges, 'state' | 'stateReason'>,
    input: EngineUpdateInput,
    actor: string,
  ): Promise<EngineEntity> {
    const name = engine.name;
    const redefines = Object.keys(definition).length > 0;
    if (redefines && engine.source === 'config') {
      throw new DomainError(
        ErrorCode.Conflict,
        `Engine ${name} is defined by the configuration (DOCKER_ENGINES, or DOCKER_HOST for \`default\`): change its ` +
          'labels and capacity there and restart RunnerHub; through the API it can only be drained and undrained',
        { engine: name, source: engine.source, setting: 'DOCKER_ENGINES' },
      );
    }
    const undrains = input.state === 'active' && engine.state !== 'active';
    if (undrains && engine.state === 'unreachable') {
      throw new DomainError(
        ErrorCode.IllegalTransition,
        `Engine ${name} is unreachable (${engine.stateReason ?? 'no answer'}): it becomes active by itself when it ` +
          'answers again',
        { engine: name, state: engine.state },
      );
    }
    if (!redefines && !undrains) return engine;
    const changes: EngineChanges = {
      ...definition,
      ...(undrains ? { state: 'active', stateReason: `undrained by ${actor}` } : {}),
    };
    const updated = await this.repository.update(name, engine.version, changes).catch((error: unknown) => {
      throw DomainError.is(error, ErrorCode.Conflict) ? new StaleEngine(error) : error;
    });
    if (redefines) {
      await this.changes.announce(EngineEvent.Updated, {
        engine: name,
        previousState: engine.state,
        state: updated.state,
        reason: `${Object.keys(definition).join(', ')} changed by ${actor}`,
        actor,
      });
    }
    if (undrains) {
      await this.changes.announce(EngineEvent.Active, {
        engine: name,
        previousState: engine.state,
        state: 'active',
        reason: `undrained by ${actor}`,
        actor,
      });
    }
    return updated;
  }

  /**
   * Drains an active engine: nothing new is placed on it, what runs there finishes, and the prober then calls it
   * `drained`. Draining a draining or drained engine changes nothing; an unreachable one is ILLEGAL_TRANSITION.
   */
  async drain(name: string, actor: string): Promise<EngineEntity> {
    const engine = await this.repository.get(name);
    if (engine.state === 'draining' || engine.state === 'drained') return engine;
    const reason = `drain asked by ${actor}`;
    if (!(await this.repository.moveState(name, ['active'], 'draining', reason))) {
      const now = await this.repository.get(name);
      if (now.state === 'draining' || now.state === 'drained') return now;
      throw new DomainError(
        ErrorCode.IllegalTransition,
        `Engine ${name} is ${now.state} (${now.stateReason ?? 'no reason recorded'}): only an active engine can be ` +
          'drained; nothing is placed on an unreachable one meanwhile',
        { engine: name, state: now.state },
      );
    }
    await this.changes.announce(EngineEvent.Draining, {
      engine: name,
      previousState: 'active',
      state: 'draining',
      reason,
      actor,
    });
    return this.repository.get(name);
  }

  /** The changed definition fields as the table stores them, checked with DOCKER_ENGINES' rules. */
  private checkChanges(input: EngineUpdateInput): Omit<EngineChanges, 'state' | 'stateReason'> {
    const problems: EngineFieldProblem[] = [];
    const changes: Omit<EngineChanges, 'state' | 'stateReason'> = {};
    if (input.labels !== undefined) {
      const labels = checkEngineLabels(input.labels);
      problems.push(...labels.problems);
      changes.labels = labels.labels;
    }
    const figures = Object.fromEntries(
      (['memoryMb', 'cpus', 'maxContainers'] as const)
        .filter((key) => input[key] !== undefined && input[key] !== null)
        .map((key) => [key, input[key]]),
    );
    const capacity = checkEngineCapacity(figures);
    problems.push(...capacity.problems);
    if (problems.length > 0) throw invalid(problems);
    if (input.memoryMb !== undefined) changes.memoryMb = capacity.capacity.memoryMb ?? null;
    if (input.cpus !== undefined) {
      changes.cpuMillis = capacity.capacity.cpus !== undefined ? Math.round(capacity.capacity.cpus * 1000) : null;
    }
    if (input.maxContainers !== undefined) changes.maxContainers = capacity.capacity.maxContainers ?? null;
    return changes;
  }

  private async requireFreeName(name: string): Promise<void> {
    if ((await this.repository.findByName(name)) || this.engines.find(name)) {
      throw new DomainError(ErrorCode.Conflict, `An engine named "${name}" already exists: choose another name`, {
        engine: name,
      });
    }
  }

  /** Connects the engine on this replica; one that cannot be (its TLS files are missing here) is logged once. */
  private connect(setting: EngineSetting): void {
    try {
      this.engines.add(setting);
      this.unconnectable.delete(setting.name);
    } catch (error) {
      const why = errorMessage(error);
      if (this.unconnectable.get(setting.name) !== why) {
        this.logger.error(`Engine ${setting.name} cannot be used on this replica: ${why}`);
      }
      this.unconnectable.set(setting.name, why);
    }
  }
}

function invalid(problems: EngineFieldProblem[]): DomainError {
  return new DomainError(
    ErrorCode.ValidationFailed,
    `Invalid request: ${problems.map((problem) => `${problem.field}: ${problem.message}`).join('; ')}`,
    { problems },
  );
}
