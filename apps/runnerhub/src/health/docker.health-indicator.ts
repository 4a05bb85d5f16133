import { DockerEngine } from '@app/docker';
import { Injectable } from '@nestjs/common';
import { HealthIndicatorService } from '@nestjs/terminus';

/** The engine is ready when it answers a ping; the reason it does not is reported, never a stack trace. */
@Injectable()
export class DockerHealthIndicator {
  constructor(
    private readonly engine: DockerEngine,
    private readonly indicators: HealthIndicatorService,
  ) {}

  async isReachable(key = 'docker') {
    const indicator = this.indicators.check(key);
    try {
      const version = await this.engine.version();
      return indicator.up({ version: version.version, apiVersion: version.apiVersion });
    } catch (error) {
      return indicator.down({ message: error instanceof Error ? error.message : String(error) });
    }
  }
}
