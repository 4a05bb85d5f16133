import { EngineSetting, parseDockerHost } from '@app/common';
import { describeEndpoint } from '@app/docker';
import type { EngineDefinition, EngineEntity } from '@app/persistence';

/** An engine as the `engines` table keeps it: the endpoint in DOCKER_HOST notation, CPUs in thousandths. */
export function toEngineDefinition(setting: EngineSetting): EngineDefinition {
  const { endpoint, capacity } = setting;
  return {
    name: setting.name,
    endpoint: describeEndpoint(endpoint),
    tlsCertPath: endpoint.kind === 'tcp' ? (endpoint.tls?.certPath ?? null) : null,
    labels: setting.labels,
    network: setting.network ?? null,
    memoryMb: capacity.memoryMb ?? null,
    cpuMillis: capacity.cpus !== undefined ? Math.round(capacity.cpus * 1000) : null,
    maxContainers: capacity.maxContainers ?? null,
  };
}

/**
 * The setting an engine of the table is connected with: the inverse of toEngineDefinition, for engines that exist
 * only as rows (added through the API, here or on another replica).
 */
export function toEngineSetting(row: EngineEntity): EngineSetting {
  return {
    name: row.name,
    endpoint: parseDockerHost(row.endpoint, row.tlsCertPath ?? undefined),
    labels: row.labels,
    capacity: {
      ...(row.memoryMb !== null ? { memoryMb: row.memoryMb } : {}),
      ...(row.cpuMillis !== null ? { cpus: row.cpuMillis / 1000 } : {}),
      ...(row.maxContainers !== null ? { maxContainers: row.maxContainers } : {}),
    },
    ...(row.network !== null ? { network: row.network } : {}),
  };
}
