import { AppConfig, ContainerEvent, ContainerResourceAlertPayload, EventPublisher } from '@app/common';
import type { ResourceUsage } from '@app/docker';
import { Injectable, Logger } from '@nestjs/common';

export interface AlertSubject {
  containerId: string;
  name: string;
  jobId: string | null;
  repository: string | null;
}

type Watched = 'cpu' | 'memory';

/**
 * Raises `container:high-cpu` above ALERT_CPU_PERCENT and `container:high-memory` above ALERT_MEMORY_PERCENT of the
 * limit when a container crosses the line, and again only after it has come back under it: a container that stays
 * high is reported once, not every round.
 */
@Injectable()
export class ResourceAlerts {
  private readonly logger = new Logger(ResourceAlerts.name);
  /** Containers currently above each line. */
  private readonly above: Record<Watched, Set<string>> = { cpu: new Set(), memory: new Set() };

  constructor(
    private readonly config: AppConfig,
    private readonly events: EventPublisher,
  ) {}

  evaluate(subject: AlertSubject, usage: ResourceUsage): void {
    const { alertCpuPercent, alertMemoryPercent } = this.config.monitoring;
    this.check('cpu', subject, usage.cpuPercent, alertCpuPercent, usage.sampledAt);
    // A container without a memory limit reads its usage against the host's memory: meaningful all the same.
    this.check('memory', subject, usage.memoryPercent, alertMemoryPercent, usage.sampledAt);
  }

  /** The container is gone: if it comes back high, that is news again. */
  forget(containerId: string): void {
    this.above.cpu.delete(containerId);
    this.above.memory.delete(containerId);
  }

  /** Containers still tracked, so a round can forget the ones that stopped running. */
  tracked(): string[] {
    return [...new Set([...this.above.cpu, ...this.above.memory])];
  }

  private check(kind: Watched, subject: AlertSubject, value: number, threshold: number, at: Date): void {
    const high = this.above[kind];
    if (value <= threshold) {
      high.delete(subject.containerId);
      return;
    }
    if (high.has(subject.containerId)) return;
    high.add(subject.containerId);
    const payload: ContainerResourceAlertPayload = {
      containerId: subject.containerId,
      name: subject.name,
      jobId: subject.jobId,
      repository: subject.repository,
      value: Math.round(value * 10) / 10,
      threshold,
      at: at.toISOString(),
    };
    const unit = kind === 'cpu' ? '% CPU' : '% of its memory limit';
    this.logger.warn(`Container ${subject.name} uses ${payload.value}${unit} (alert above ${threshold})`);
    this.events.publish(kind === 'cpu' ? ContainerEvent.HighCpu : ContainerEvent.HighMemory, payload);
  }
}
