import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigurationError, type DockerEndpoint } from '@app/common';
import Dockerode from 'dockerode';

/**
 * The API version every request is pinned to. 1.41 (engine 20.10) is the oldest engine RunnerHub supports and the
 * first with one-shot stats; newer engines still serve it, so response shapes do not drift under the mappers.
 */
export const ENGINE_API_VERSION = 'v1.41';

/** Which engine of the fleet a client talks to: its name, and where it is. */
export interface EngineTarget {
  name: string;
  endpoint: DockerEndpoint;
}

/** The files DOCKER_CERT_PATH holds, named as the docker CLI names them. */
export const TLS_FILES = { ca: 'ca.pem', cert: 'cert.pem', key: 'key.pem' } as const;

export function createDockerClient(endpoint: DockerEndpoint): Dockerode {
  // Explicit undefineds: docker-modem merges DOCKER_HOST, DOCKER_CERT_PATH and DOCKER_CLIENT_TIMEOUT from the
  // environment under these options; the configuration is the only source here (a socket idle timeout from there
  // would cut the long-lived event stream, and certificates from there would be used without DOCKER_TLS_VERIFY).
  const common = { version: ENGINE_API_VERSION, timeout: undefined, ca: undefined, cert: undefined, key: undefined };
  if (endpoint.kind === 'socket') {
    return new Dockerode({ ...common, socketPath: endpoint.socketPath, host: undefined, port: undefined });
  }
  const tcp = { ...common, protocol: endpoint.protocol, host: endpoint.host, port: endpoint.port };
  if (!endpoint.tls) return new Dockerode(tcp);
  // DOCKER_TLS_VERIFY: the engine's certificate must be signed by ca.pem (Node verifies it and its name against the
  // host), and RunnerHub proves itself with cert.pem and key.pem, as `docker --tlsverify` does.
  return new Dockerode({ ...tcp, protocol: 'https', ...readTlsFiles(endpoint.tls.certPath) });
}

/** ca.pem, cert.pem and key.pem from DOCKER_CERT_PATH; a start-up error naming each one that cannot be read. */
export function readTlsFiles(certPath: string): { ca: Buffer; cert: Buffer; key: Buffer } {
  const problems: string[] = [];
  const read = (file: string): Buffer => {
    try {
      return readFileSync(join(certPath, file));
    } catch (error) {
      const why = (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'does not exist' : 'cannot be read';
      problems.push(
        `DOCKER_TLS_VERIFY needs ${file} in DOCKER_CERT_PATH, but ${join(certPath, file)} ${why} ` +
          `(DOCKER_CERT_PATH must hold ${Object.values(TLS_FILES).join(', ')}, as the docker CLI expects)`,
      );
      return Buffer.alloc(0);
    }
  };
  const files = { ca: read(TLS_FILES.ca), cert: read(TLS_FILES.cert), key: read(TLS_FILES.key) };
  if (problems.length > 0) throw new ConfigurationError(problems);
  return files;
}

/** How the endpoint is named in messages, in DOCKER_HOST's own notation so the reader can paste it. */
export function describeEndpoint(endpoint: DockerEndpoint): string {
  return endpoint.kind === 'socket'
    ? `unix://${endpoint.socketPath}`
    : `${endpoint.protocol === 'https' ? 'https' : 'tcp'}://${endpoint.host}:${endpoint.port}`;
}
