import { EngineCallObserver, EngineCallRecord } from '@app/docker';
import { Injectable } from '@nestjs/common';
import { RunnerHubMetrics } from './runnerhub-metrics';

/** DockerEngine's observer: every engine call is timed, and every failure counted by its error code. */
@Injectable()
export class EngineCallMetrics implements EngineCallObserver {
  constructor(private readonly metrics: RunnerHubMetrics) {}

  engineCallFinished({ operation, outcome, durationSeconds, errorCode }: EngineCallRecord): void {
    this.metrics.engineCallDuration.observe({ operation, outcome }, durationSeconds);
    if (outcome === 'error') this.metrics.engineErrors.inc({ operation, code: errorCode ?? 'UNKNOWN' });
  }
}
