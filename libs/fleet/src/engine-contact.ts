import { ConfigurationError, DomainError, EngineSetting, ErrorCode, errorMessage } from '@app/common';
import { describeEndpoint, DockerEngine, EngineInfo, EngineRegistry } from '@app/docker';
import { Injectable } from '@nestjs/common';

/** What an engine said when asked before it joined the fleet. */
export type EngineAnswer =
  { answered: true; info: EngineInfo | null } | { answered: false; tried: string; error: string };

/**
 * Reaches an engine that is not part of the fleet yet, to ask whether it answers before it is added: a client of
 * its own, outside the registry, so that nothing (event streams, listeners of the registry) starts for an engine
 * that may never join.
 */
@Injectable()
export class EngineContact {
  constructor(private readonly engines: EngineRegistry) {}

  /**
   * Pings the engine and reads its `info`, each within the control deadline. VALIDATION_FAILED when a TLS engine's
   * certificate files cannot be read: no client could be made for it on this replica, whether it answers or not.
   */
  async ask(setting: EngineSetting): Promise<EngineAnswer> {
    const engine = this.clientFor(setting);
    const tried = `ping ${describeEndpoint(setting.endpoint)}`;
    try {
      await engine.ping();
    } catch (error) {
      return { answered: false, tried, error: errorMessage(error) };
    }
    // It answered: a failed `info` only means its capacity is read later, by the prober.
    const info = await engine.info().catch(() => null);
    return { answered: true, info };
  }

  private clientFor(setting: EngineSetting): DockerEngine {
    try {
      return this.engines.detached(setting);
    } catch (error) {
      if (!(error instanceof ConfigurationError)) throw error;
      const problems = error.problems.map((message) => ({ field: 'certPath', message }));
      throw new DomainError(
        ErrorCode.ValidationFailed,
        `Invalid request: the TLS files of engine ${setting.name} cannot be read on this RunnerHub: ` +
          problems.map((problem) => problem.message).join('; '),
        { problems },
      );
    }
  }
}
