import type { EngineStatus } from '@app/fleet';
import { EngineDto } from './dto/engine.dto';

/** Thousandths of a CPU as CPUs. */
function cpus(millis: number | null): number | null {
  return millis === null ? null : millis / 1000;
}

export function toEngineDto({ engine, load }: EngineStatus): EngineDto {
  const given = { memoryMb: engine.memoryMb, cpus: cpus(engine.cpuMillis), maxContainers: engine.maxContainers };
  const fromInfo = { memoryMb: engine.infoMemoryMb, cpus: cpus(engine.infoCpuMillis) };
  return {
    name: engine.name,
    endpoint: engine.endpoint,
    tlsCertPath: engine.tlsCertPath,
    source: engine.source,
    labels: engine.labels,
    network: engine.network,
    state: engine.state,
    stateReason: engine.stateReason,
    stateChangedAt: engine.stateChangedAt.toISOString(),
    lastSeenAt: engine.lastSeenAt?.toISOString() ?? null,
    capacity: {
      given,
      fromInfo,
      effective: {
        // Memory limits and CPU quotas are ceilings, not reservations: placement holds engines to given figures only.
        memoryMb: given.memoryMb,
        cpus: given.cpus,
        maxContainers: given.maxContainers,
      },
    },
    load: { containers: load.containers, memoryMb: load.memoryMb, cpus: load.cpuMillis / 1000 },
    createdAt: engine.createdAt.toISOString(),
  };
}
