import { EngineCallObserver, EngineCallRecord } from '@app/docker';
import { Injectable } from '@nestjs/common';
import { RunnerHubMetrics } from './runnerhub-metrics';

/** DockerEngine's observer: every engine call is timed, and every failure counted by its error code, per engine. */
@Injectable()
export class EngineCallMetrics implements EngineCallObserver {
  constructor(private readonly metrics: RunnerHubMetrics) {}

  engineCallFinished({ engine, operation, outcome, durationSeconds, errorCode }: EngineCallRecord): void {
    this.metrics.engineCallDuration.observe({ engine, operation, outcome }, durationSeconds);
    if (outcome === 'error') this.metrics.engineErrors.inc({ engine, operation, code: errorCode ?? 'UNKNOWN' });
  }
}
