import type { DockerEndpoint } from '@app/common';
import Dockerode from 'dockerode';

/**
 * The API version every request is pinned to. 1.41 (engine 20.10) is the oldest engine RunnerHub supports and the
 * first with one-shot stats; newer engines still serve it, so response shapes do not drift under the mappers.
 */
export const ENGINE_API_VERSION = 'v1.41';

export function createDockerClient(endpoint: DockerEndpoint): Dockerode {
  // Explicit undefineds: docker-modem merges DOCKER_HOST and DOCKER_CLIENT_TIMEOUT from the environment under these
  // options, and a socket idle timeout from there would cut the long-lived event stream.
  const common = { version: ENGINE_API_VERSION, timeout: undefined };
  if (endpoint.kind === 'socket') {
    return new Dockerode({ ...common, socketPath: endpoint.socketPath, host: undefined, port: undefined });
  }
  return new Dockerode({ ...common, protocol: endpoint.protocol, host: endpoint.host, port: endpoint.port });
}

/** How the endpoint is named in messages, in DOCKER_HOST's own notation so the reader can paste it. */
export function describeEndpoint(endpoint: DockerEndpoint): string {
  return endpoint.kind === 'socket'
    ? `unix://${endpoint.socketPath}`
    : `${endpoint.protocol === 'https' ? 'https' : 'tcp'}://${endpoint.host}:${endpoint.port}`;
}
