import { DockerEngine } from '@app/docker';
import { Injectable } from '@nestjs/common';
import { HealthIndicatorService } from '@nestjs/terminus';
import { FailureLog } from './failure-log';

/**
 * The engine is ready when it answers a ping. The readiness answer is public, so it says up or down and nothing
 * else: an engine version tells an attacker which bugs to try, and a raw error can carry socket paths and hosts.
 * Why the engine is down goes to the log instead, once when it goes down and once when it is back.
 */
@Injectable()
export class DockerHealthIndicator {
  private readonly failures = new FailureLog('the Docker engine');

  constructor(
    private readonly engine: DockerEngine,
    private readonly indicators: HealthIndicatorService,
  ) {}

  async isReachable(key = 'docker') {
    const indicator = this.indicators.check(key);
    try {
      await this.engine.ping();
    } catch (error) {
      this.failures.failed(error);
      return indicator.down();
    }
    this.failures.recovered();
    return indicator.up();
  }
}
