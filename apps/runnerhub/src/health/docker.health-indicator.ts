import { EngineRegistry } from '@app/docker';
import { Injectable } from '@nestjs/common';
import { HealthIndicatorService } from '@nestjs/terminus';
import { FailureLog } from './failure-log';

/**
 * The engines are ready when at least one of them answers a ping: jobs are placed on those that do (an engine that
 * stays silent is marked unreachable and its jobs move), so one host down does not take the service out of rotation. The readiness answer is public, so it says up or down and nothing
 * else: an engine version tells an attacker which bugs to try, and a raw error can carry socket paths and hosts.
 * Why the engine is down goes to the log instead, once when it goes down and once when it is back.
 */
@Injectable()
export class DockerHealthIndicator {
  private readonly failures = new FailureLog('the fleet of Docker engines');

  constructor(
    private readonly engines: EngineRegistry,
    private readonly indicators: HealthIndicatorService,
  ) {}

  async isReachable(key = 'docker') {
    const indicator = this.indicators.check(key);
    const answers = await Promise.allSettled(this.engines.all().map(({ engine }) => engine.ping()));
    // One engine of several being down is the engine prober's news (it marks it unreachable), not readiness's.
    const failed = answers.find((answer): answer is PromiseRejectedResult => answer.status === 'rejected');
    if (!failed || answers.some((answer) => answer.status === 'fulfilled')) {
      this.failures.recovered();
      return indicator.up();
    }
    this.failures.failed(failed.reason);
    return indicator.down();
  }
}
