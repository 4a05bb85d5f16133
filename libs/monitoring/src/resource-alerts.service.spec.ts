import { ContainerEvent, EventPublisher, loadAppConfig } from '@app/common';
import type { ResourceUsage } from '@app/docker';
import { ResourceAlerts } from './resource-alerts.service';

describe(ResourceAlerts.name, () => {
  const published: Array<{ name: string; value: number }> = [];
  const events = {
    publish: (name: string, payload: { value: number }) => published.push({ name, value: payload.value }),
  };
  const sut = new ResourceAlerts(
    loadAppConfig({ ALERT_CPU_PERCENT: '80', ALERT_MEMORY_PERCENT: '90' }),
    events as unknown as EventPublisher,
  );
  const subject = { containerId: 'c-1', name: 'runner-1', jobId: null, repository: 'octo/a' };
  const usage = (cpuPercent: number, memoryPercent: number) =>
    ({ cpuPercent, memoryPercent, sampledAt: new Date(0) }) as ResourceUsage;

  beforeEach(() => published.splice(0));

  it('alerts when a container crosses a line, once while it stays above, and again after it came back', () => {
    for (const [cpu, memory] of [
      [50, 50],
      [95, 95],
      [99, 97],
      [120, 96],
      [40, 20],
      [85, 20],
    ])
      sut.evaluate(subject, usage(cpu, memory));
    expect(published).toEqual([
      { name: ContainerEvent.HighCpu, value: 95 },
      { name: ContainerEvent.HighMemory, value: 95 },
      { name: ContainerEvent.HighCpu, value: 85 },
    ]);
  });

  it('raises nothing for a container at or below the lines, and starts afresh for a forgotten one', () => {
    sut.evaluate({ ...subject, containerId: 'c-2' }, usage(80, 90));
    expect(published).toEqual([]);
    sut.evaluate({ ...subject, containerId: 'c-3' }, usage(81, 10));
    sut.forget('c-3');
    sut.evaluate({ ...subject, containerId: 'c-3' }, usage(81, 10));
    expect(published.map((p) => p.name)).toEqual([ContainerEvent.HighCpu, ContainerEvent.HighCpu]);
  });
});
