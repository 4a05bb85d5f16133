import { Inject, Injectable } from '@nestjs/common';
import { Counter, Histogram, Registry } from 'prom-client';
import { LifecycleOperation } from './lifecycle-durations';
import { ALERT_TYPES } from './metric-classification';
import { METRICS_REGISTRY } from './metrics.tokens';

const LIFECYCLE_OPERATIONS: readonly LifecycleOperation[] = ['start', 'stop', 'remove'];

/**
 * The series fed by events and engine calls, defined once on the application's registry. The gauges read at scrape
 * time are defined by their collectors instead, next to what they read. Names follow Prometheus conventions:
 * `runnerhub_` prefix, base units (seconds), `_total` on counters.
 */
@Injectable()
export class RunnerHubMetrics {
  readonly lifecycleOperationDuration: Histogram<'operation' | 'outcome'>;
  readonly engineCallDuration: Histogram<'engine' | 'operation' | 'outcome'>;
  readonly engineErrors: Counter<'engine' | 'operation' | 'code'>;
  readonly jobQueueWait: Histogram;
  readonly alerts: Counter<'type'>;
  readonly cleanupRemovals: Counter<'policy'>;
  readonly cleanupScans: Counter<'trigger'>;
  readonly poolHandouts: Counter<'pool' | 'outcome'>;
  readonly cleanupScanDuration: Histogram<'trigger'>;

  constructor(@Inject(METRICS_REGISTRY) registry: Registry) {
    const registers = [registry];
    this.lifecycleOperationDuration = new Histogram({
      name: 'runnerhub_lifecycle_operation_duration_seconds',
      help: 'Time from a container operation being recorded as begun to its outcome (start: starting to running, stop: stopping to stopped, remove: removing to removed; outcome error when it ended in error).',
      labelNames: ['operation', 'outcome'],
      // A start takes 0.1-0.5 s, a removal tens of ms, a stop up to its timeout (10 s by default) and more.
      buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
      registers,
    });
    this.engineCallDuration = new Histogram({
      name: 'runnerhub_engine_call_duration_seconds',
      help: 'Duration of calls to the Docker engine API, by engine, operation and outcome (deadline included).',
      labelNames: ['engine', 'operation', 'outcome'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers,
    });
    this.engineErrors = new Counter({
      name: 'runnerhub_engine_errors_total',
      help: 'Failed calls to the Docker engine API, by engine, operation and the error code they were mapped to.',
      labelNames: ['engine', 'operation', 'code'],
      registers,
    });
    this.jobQueueWait = new Histogram({
      name: 'runnerhub_job_queue_wait_seconds',
      help: 'Time a job waited in the queue before its first assignment to a runner (retries not counted).',
      buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600],
      registers,
    });
    this.alerts = new Counter({
      name: 'runnerhub_alerts_total',
      help: 'Alerts raised: high-cpu and high-memory (thresholds crossed), error (a container went to error) and stopped (a container ended without being asked to, with a non-zero exit code).',
      labelNames: ['type'],
      registers,
    });
    this.cleanupRemovals = new Counter({
      name: 'runnerhub_cleanup_removals_total',
      help: 'Containers removed by the cleanup policies, by policy.',
      labelNames: ['policy'],
      registers,
    });
    this.cleanupScans = new Counter({
      name: 'runnerhub_cleanup_scans_total',
      help: 'Cleanup scans this replica ran, by trigger (schedule or manual).',
      labelNames: ['trigger'],
      registers,
    });
    this.cleanupScanDuration = new Histogram({
      name: 'runnerhub_cleanup_scan_duration_seconds',
      help: 'Duration of cleanup scans, from reading the inventory to the last removal.',
      labelNames: ['trigger'],
      buckets: [0.01, 0.05, 0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 120],
      registers,
    });
    for (const trigger of ['schedule', 'manual']) this.cleanupScans.inc({ trigger }, 0);
    this.poolHandouts = new Counter({
      name: 'runnerhub_pool_handouts_total',
      help: 'Queued jobs a warm pool serves, by pool and outcome: hit (an idle runner served it: handed one, or GitHub started it on one first) or miss (none was idle, a runner was made for the job).',
      labelNames: ['pool', 'outcome'],
      registers,
    });

    // Known label values start at 0, so that rate() and absent() see the series before the first event.
    for (const type of ALERT_TYPES) this.alerts.inc({ type }, 0);
    for (const operation of LIFECYCLE_OPERATIONS) {
      for (const outcome of ['ok', 'error']) this.lifecycleOperationDuration.zero({ operation, outcome });
    }
  }
}
