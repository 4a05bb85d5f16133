import { ContainerState as S, ContainerTransitionPayload, JobState, JobTransitionPayload } from '@app/common';
import { MetricValueWithName, Registry } from 'prom-client';
import { EngineCallMetrics } from './engine-call.metrics';
import { MetricsEventsListener } from './metrics-events.listener';
import { RunnerHubMetrics } from './runnerhub-metrics';

const T0 = Date.parse('2026-12-01T10:00:00.000Z');

function transition(
  from: S | null,
  to: S,
  ms: number,
  extra: Partial<ContainerTransitionPayload> = {},
): ContainerTransitionPayload {
  return {
    containerId: 'c-1',
    engineId: 'e-1',
    name: 'runner-1',
    previousState: from,
    state: to,
    reason: 'x',
    actor: 'system',
    exitCode: null,
    runnerId: null,
    jobId: null,
    repository: null,
    at: new Date(T0 + ms).toISOString(),
    ...extra,
  };
}

describe(MetricsEventsListener.name, () => {
  let registry: Registry;
  let sut: MetricsEventsListener;

  beforeEach(() => {
    registry = new Registry();
    sut = new MetricsEventsListener(new RunnerHubMetrics(registry));
  });

  /** The value of series `name` (a histogram's `_count`...) of metric `metric` whose labels include these. */
  const value = async (metric: string, labels: Record<string, string> = {}, name = metric) => {
    const { values } = await registry.getSingleMetric(metric)!.get();
    return (values as Array<MetricValueWithName<string>>).find(
      (v) => (v.metricName ?? metric) === name && Object.entries(labels).every(([k, l]) => v.labels[k] === l),
    )?.value;
  };
  const lifecycle = 'runnerhub_lifecycle_operation_duration_seconds';
  const count = (labels: Record<string, string>) => value(lifecycle, labels, `${lifecycle}_count`);

  it('observes start, stop and remove durations and says which ended in error', async () => {
    sut.onContainerTransition(transition(S.Created, S.Starting, 0));
    sut.onContainerTransition(transition(S.Starting, S.Running, 200));
    sut.onContainerTransition(transition(S.Running, S.Stopping, 1_000));
    sut.onContainerTransition(transition(S.Stopping, S.Error, 1_500));
    expect(await count({ operation: 'start', outcome: 'ok' })).toBe(1);
    expect(await value(lifecycle, { operation: 'start', outcome: 'ok' }, `${lifecycle}_sum`)).toBeCloseTo(0.2, 6);
    expect(await count({ operation: 'stop', outcome: 'error' })).toBe(1);
    expect(await value(lifecycle, { operation: 'stop', outcome: 'error' }, `${lifecycle}_sum`)).toBeCloseTo(0.5, 6);
    expect(await count({ operation: 'stop', outcome: 'ok' })).toBe(0);
    expect(await count({ operation: 'remove', outcome: 'ok' })).toBe(0);
  });

  it('counts alerts by type: resource alerts, errors and unexpected stops only', async () => {
    const alert = {
      containerId: 'c-1',
      name: 'runner-1',
      jobId: null,
      repository: null,
      value: 90,
      threshold: 80,
      at: '',
    };
    sut.onHighCpu(alert);
    sut.onHighMemory(alert);
    sut.onHighMemory(alert);
    sut.onContainerTransition(transition(S.Running, S.Error, 0, { reason: 'oom-killed', exitCode: 137 }));
    sut.onContainerTransition(transition(S.Running, S.Stopped, 0, { reason: 'exited with code 1', exitCode: 1 }));
    sut.onContainerTransition(transition(S.Running, S.Stopped, 0, { reason: 'exited with code 0', exitCode: 0 }));
    sut.onContainerTransition(transition(S.Stopping, S.Stopped, 0, { reason: 'stopped (exit 143)', exitCode: 143 }));
    expect(await value('runnerhub_alerts_total', { type: 'high-cpu' })).toBe(1);
    expect(await value('runnerhub_alerts_total', { type: 'high-memory' })).toBe(2);
    expect(await value('runnerhub_alerts_total', { type: 'error' })).toBe(1);
    expect(await value('runnerhub_alerts_total', { type: 'stopped' })).toBe(1);
  });

  it('counts a cleanup removal by the reason on REMOVED, or on the REMOVING the lifecycle wrote it on', async () => {
    // The lifecycle writes the caller's reason on REMOVING and `removed from the engine` on REMOVED.
    sut.onContainerTransition(transition(S.Stopped, S.Removing, 0, { reason: 'cleanup:stopped' }));
    sut.onContainerTransition(transition(S.Removing, S.Removed, 20, { reason: 'removed from the engine' }));
    // An event that names the policy itself.
    sut.onContainerTransition(transition(S.Removing, S.Removed, 0, { containerId: 'c-2', reason: 'cleanup:orphan' }));
    // Both: counted once.
    sut.onContainerTransition(transition(S.Stopped, S.Removing, 0, { containerId: 'c-3', reason: 'cleanup:orphan' }));
    sut.onContainerTransition(transition(S.Removing, S.Removed, 5, { containerId: 'c-3', reason: 'cleanup:orphan' }));
    // Not cleanup's, and a removal that failed.
    sut.onContainerTransition(
      transition(S.Stopped, S.Removing, 0, { containerId: 'c-4', reason: 'removal requested' }),
    );
    sut.onContainerTransition(transition(S.Removing, S.Removed, 5, { containerId: 'c-4' }));
    sut.onContainerTransition(transition(S.Stopped, S.Removing, 0, { containerId: 'c-5', reason: 'cleanup:failed' }));
    sut.onContainerTransition(transition(S.Removing, S.Error, 5, { containerId: 'c-5' }));
    expect(await value('runnerhub_cleanup_removals_total', { policy: 'stopped' })).toBe(1);
    expect(await value('runnerhub_cleanup_removals_total', { policy: 'orphan' })).toBe(2);
    expect(await value('runnerhub_cleanup_removals_total', { policy: 'failed' })).toBeUndefined();
  });

  it('observes the queue wait of a first assignment only', async () => {
    const job = { attempts: 0, queuedAt: new Date(Date.now() - 3_000).toISOString() } as JobTransitionPayload;
    sut.onJobAssigned({ ...job, state: JobState.Assigned });
    sut.onJobAssigned({ ...job, attempts: 1 });
    const wait = 'runnerhub_job_queue_wait_seconds';
    expect(await value(wait, {}, `${wait}_count`)).toBe(1);
    const sum = (await value(wait, {}, `${wait}_sum`)) ?? 0;
    expect(sum).toBeGreaterThanOrEqual(3);
    expect(sum).toBeLessThan(10);
  });

  it('never throws into the emitter, whatever it is handed', () => {
    expect(() => sut.onContainerTransition(null as unknown as ContainerTransitionPayload)).not.toThrow();
    expect(() => sut.onJobAssigned(undefined as unknown as JobTransitionPayload)).not.toThrow();
  });
});

describe(EngineCallMetrics.name, () => {
  it('times every call and counts failures by engine, operation and code', async () => {
    const registry = new Registry();
    const sut = new EngineCallMetrics(new RunnerHubMetrics(registry));
    sut.engineCallFinished({ engine: 'a', operation: 'ping', durationSeconds: 0.002, outcome: 'ok', errorCode: null });
    sut.engineCallFinished({ engine: 'b', operation: 'ping', durationSeconds: 0.003, outcome: 'ok', errorCode: null });
    sut.engineCallFinished({
      engine: 'b',
      operation: 'inspect container',
      durationSeconds: 0.01,
      outcome: 'error',
      errorCode: 'NOT_FOUND',
    });
    const text = await registry.metrics();
    expect(text).toContain('runnerhub_engine_call_duration_seconds_count{engine="a",operation="ping",outcome="ok"} 1');
    expect(text).toContain('runnerhub_engine_call_duration_seconds_count{engine="b",operation="ping",outcome="ok"} 1');
    expect(text).toContain(
      'runnerhub_engine_call_duration_seconds_count{engine="b",operation="inspect container",outcome="error"} 1',
    );
    expect(text).toContain(
      'runnerhub_engine_errors_total{engine="b",operation="inspect container",code="NOT_FOUND"} 1',
    );
    expect(text).not.toContain('operation="ping",code=');
  });
});
