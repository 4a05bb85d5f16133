import {
  CleanupEvent,
  CleanupScanPayload,
  ContainerEvent,
  ContainerResourceAlertPayload,
  ContainerState,
  ContainerTransitionPayload,
  JobEvent,
  JobTransitionPayload,
  PoolEvent,
  PoolRunnerPayload,
} from '@app/common';
import { Injectable, Logger } from '@nestjs/common';
import { OnEvent } from '@nestjs/event-emitter';
import { LifecycleDurations } from './lifecycle-durations';
import { AlertType, cleanupPolicyOf, firstQueueWaitSeconds, terminationAlert } from './metric-classification';
import { RunnerHubMetrics } from './runnerhub-metrics';

/**
 * Turns RunnerHub's events into the event-fed series: lifecycle durations, alerts, cleanup removals and queue waits.
 * The handlers are synchronous, so each sees a container's events in the order they were published, and they never
 * throw: metrics must never fail, or slow down, the operation whose event they count.
 */
@Injectable()
export class MetricsEventsListener {
  private readonly logger = new Logger(MetricsEventsListener.name);
  private readonly durations = new LifecycleDurations();

  constructor(private readonly metrics: RunnerHubMetrics) {}

  @OnEvent(ContainerEvent.Starting)
  @OnEvent(ContainerEvent.Started)
  @OnEvent(ContainerEvent.Stopping)
  @OnEvent(ContainerEvent.Stopped)
  @OnEvent(ContainerEvent.Removing)
  @OnEvent(ContainerEvent.Removed)
  @OnEvent(ContainerEvent.Error)
  onContainerTransition(transition: ContainerTransitionPayload): void {
    this.guard('a container transition', () => {
      const finished = this.durations.record(transition);
      if (finished) {
        this.metrics.lifecycleOperationDuration.observe(
          { operation: finished.operation, outcome: finished.outcome },
          finished.seconds,
        );
      }
      const alert = terminationAlert(transition);
      if (alert) this.alert(alert);
      if (transition.state === ContainerState.Removed) {
        // The lifecycle writes the caller's reason on REMOVING and `removed from the engine` on REMOVED: look at both.
        const policy =
          cleanupPolicyOf(transition.reason) ??
          (finished?.operation === 'remove' ? cleanupPolicyOf(finished.reason) : null);
        if (policy) this.metrics.cleanupRemovals.inc({ policy });
      }
    });
  }

  @OnEvent(ContainerEvent.HighCpu)
  onHighCpu(_alert: ContainerResourceAlertPayload): void {
    this.guard('a CPU alert', () => this.alert('high-cpu'));
  }

  @OnEvent(ContainerEvent.HighMemory)
  onHighMemory(_alert: ContainerResourceAlertPayload): void {
    this.guard('a memory alert', () => this.alert('high-memory'));
  }

  @OnEvent(CleanupEvent.Scanned)
  onCleanupScanned(scan: CleanupScanPayload): void {
    this.guard('a cleanup scan', () => {
      this.metrics.cleanupScans.inc({ trigger: scan.trigger });
      this.metrics.cleanupScanDuration.observe({ trigger: scan.trigger }, scan.durationMs / 1000);
    });
  }

  @OnEvent(JobEvent.Assigned)
  onJobAssigned(job: JobTransitionPayload): void {
    this.guard('a job assignment', () => {
      const waited = firstQueueWaitSeconds(job, Date.now());
      if (waited !== null) this.metrics.jobQueueWait.observe(waited);
    });
  }

  @OnEvent(PoolEvent.Hit)
  onPoolHit(event: PoolRunnerPayload): void {
    this.guard('a pool hit', () => this.metrics.poolHandouts.inc({ pool: event.pool, outcome: 'hit' }));
  }

  @OnEvent(PoolEvent.Miss)
  onPoolMiss(event: PoolRunnerPayload): void {
    this.guard('a pool miss', () => this.metrics.poolHandouts.inc({ pool: event.pool, outcome: 'miss' }));
  }

  private alert(type: AlertType): void {
    this.metrics.alerts.inc({ type });
  }

  private guard(what: string, work: () => void): void {
    try {
      work();
    } catch (error) {
      this.logger.warn(`Metrics missed ${what}: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
}
