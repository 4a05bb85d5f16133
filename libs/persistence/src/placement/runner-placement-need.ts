import type { AppConfig } from '@app/common';
import type { PlacementNeed } from './engine-placement';

/**
 * What one job's runner container takes on its engine, as the runner's limits will be: RUNNER_MEMORY_MB of memory,
 * and the CPU quota the lifecycle applies when the runner's limits name none (DEFAULT_CPUS; RUNNER_CPU_SHARES is a
 * relative weight, not a ceiling). The dispatcher reserves this at a job's claim, and every placement counts it for
 * claimed jobs whose container is not live yet, so the two always agree.
 */
export function runnerPlacementNeed(config: Pick<AppConfig, 'orchestration' | 'containers'>): PlacementNeed {
  return {
    memoryMb: config.orchestration.runnerLimits.memoryMB,
    cpuMillis: Math.round(config.containers.defaults.cpus * 1000),
  };
}
