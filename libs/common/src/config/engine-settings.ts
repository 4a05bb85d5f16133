import { homedir } from 'node:os';
import { resolve } from 'node:path';
import type { DockerEndpoint } from './app-config';

/** What may be placed on an engine at most; a figure left out is read from the engine's own `info` when it answers. */
export interface EngineCapacity {
  memoryMb?: number;
  cpus?: number;
  maxContainers?: number;
}

/** One Docker engine of the fleet as configured (DOCKER_ENGINES, or DOCKER_HOST alone as the one engine `default`). */
export interface EngineSetting {
  name: string;
  endpoint: DockerEndpoint;
  /** Lower case; a job is placed only on an engine carrying every label the job asks for beyond the runner's own. */
  labels: string[];
  capacity: EngineCapacity;
  /**
   * The network its runner containers join, when it is not RUNNER_NETWORK (a host whose networks are named
   * differently; `none` for an engine without a bridge).
   */
  network?: string;
}

/** The engine DOCKER_HOST names when DOCKER_ENGINES is not set. */
export const DEFAULT_ENGINE_NAME = 'default';

const DEFAULT_DOCKER_SOCKET = '/var/run/docker.sock';
const ENGINE_NAME = /^[a-z0-9][a-z0-9-]{0,62}$/;
const ENGINE_LABEL = /^[a-z0-9][a-z0-9._-]{0,63}$/;
const HOST = /^(unix:\/\/\/.+|(tcp|http|https):\/\/[^/:]+(:\d{1,5})?\/?)$/;
const KNOWN_KEYS = new Set([
  'name',
  'host',
  'tlsVerify',
  'certPath',
  'labels',
  'memoryMb',
  'cpus',
  'maxContainers',
  'network',
]);
const NETWORK = /^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,127}$/;

/** The docker CLI's default certificate directory: ~/.docker. */
export function defaultCertPath(): string {
  return resolve(homedir(), '.docker');
}

/**
 * DOCKER_HOST as the docker CLI reads it. With DOCKER_TLS_VERIFY a tcp:// host is spoken to over TLS with the client
 * certificate and CA from DOCKER_CERT_PATH, and the engine's certificate is verified.
 */
export function parseDockerHost(value: string | undefined, tlsCertPath: string | undefined): DockerEndpoint {
  if (!value) return { kind: 'socket', socketPath: DEFAULT_DOCKER_SOCKET };
  if (value.startsWith('unix://')) return { kind: 'socket', socketPath: value.slice('unix://'.length) };
  const url = new URL(value);
  const protocol = url.protocol === 'https:' || tlsCertPath !== undefined ? 'https' : 'http';
  const defaultPort = protocol === 'https' ? 2376 : 2375;
  return {
    kind: 'tcp',
    protocol,
    host: url.hostname,
    port: url.port ? Number(url.port) : defaultPort,
    ...(tlsCertPath !== undefined ? { tls: { certPath: tlsCertPath } } : {}),
  };
}

/** One problem with one field of an engine's definition: the field, and what to give instead. */
export interface EngineFieldProblem {
  field: string;
  /** Reads after the field's name: `must be a whole number from 1 to 10000`. */
  message: string;
}

/** The fields an engine's definition has, in DOCKER_ENGINES and in POST /api/engines alike. */
export const ENGINE_DEFINITION_FIELDS: readonly string[] = [...KNOWN_KEYS];

/**
 * One engine's definition, as one element of DOCKER_ENGINES or the body of POST /api/engines gives it (the same
 * fields and rules either way). Returns the engine, or null and every problem found, each naming its field.
 */
export function checkEngineDefinition(entry: Record<string, unknown>): {
  engine: EngineSetting | null;
  problems: EngineFieldProblem[];
} {
  const problems: EngineFieldProblem[] = [];
  for (const key of Object.keys(entry)) {
    if (!KNOWN_KEYS.has(key)) {
      problems.push({ field: key, message: `is not a field of an engine (${[...KNOWN_KEYS].join(', ')})` });
    }
  }
  const name = entry.name;
  if (typeof name !== 'string' || !ENGINE_NAME.test(name)) {
    problems.push({
      field: 'name',
      message: 'must be 1-63 lower-case letters, digits and dashes, starting with a letter or digit',
    });
  }
  const host = entry.host;
  if (typeof host !== 'string' || !HOST.test(host)) {
    problems.push({
      field: 'host',
      message: 'must be unix:///path/to/docker.sock or tcp://host:port (as DOCKER_HOST takes it)',
    });
  }
  const tlsVerify = entry.tlsVerify ?? false;
  if (typeof tlsVerify !== 'boolean') problems.push({ field: 'tlsVerify', message: 'must be true or false' });
  if (tlsVerify === true && typeof host === 'string' && host.startsWith('unix://')) {
    problems.push({
      field: 'tlsVerify',
      message: 'applies to tcp:// hosts only; a unix socket is not spoken to over TLS',
    });
  }
  if (entry.certPath !== undefined && (typeof entry.certPath !== 'string' || entry.certPath === '')) {
    problems.push({ field: 'certPath', message: 'must be a directory holding ca.pem, cert.pem and key.pem' });
  }
  const network = entry.network;
  if (network !== undefined && (typeof network !== 'string' || !NETWORK.test(network))) {
    problems.push({ field: 'network', message: 'must be the name of a Docker network on that engine, such as bridge' });
  }
  const labels = checkEngineLabels(entry.labels ?? []);
  const capacity = checkEngineCapacity(entry);
  problems.push(...labels.problems, ...capacity.problems);
  if (problems.length > 0) return { engine: null, problems };
  const certPath = tlsVerify ? ((entry.certPath as string | undefined) ?? defaultCertPath()) : undefined;
  return {
    engine: {
      name: name as string,
      endpoint: parseDockerHost(host as string, certPath),
      labels: labels.labels,
      capacity: capacity.capacity,
      ...(network !== undefined ? { network: network as string } : {}),
    },
    problems,
  };
}

/** An engine's labels (lower-cased, each once), or the problem with them. */
export function checkEngineLabels(value: unknown): { labels: string[]; problems: EngineFieldProblem[] } {
  if (
    !Array.isArray(value) ||
    !value.every((label) => typeof label === 'string' && ENGINE_LABEL.test(label.toLowerCase()))
  ) {
    return {
      labels: [],
      problems: [{ field: 'labels', message: 'must be an array of labels such as ["gpu", "arm64"]' }],
    };
  }
  return { labels: [...new Set((value as string[]).map((label) => label.toLowerCase()))], problems: [] };
}

/** The capacity figures present in `entry` (memoryMb, cpus, maxContainers), each within its range. */
export function checkEngineCapacity(entry: Record<string, unknown>): {
  capacity: EngineCapacity;
  problems: EngineFieldProblem[];
} {
  const capacity: EngineCapacity = {};
  const problems: EngineFieldProblem[] = [];
  for (const [key, min, max] of [
    ['memoryMb', 64, 16_777_216],
    ['cpus', 0.01, 4096],
    ['maxContainers', 1, 10_000],
  ] as const) {
    const figure = entry[key];
    if (figure === undefined) continue;
    const whole = key !== 'cpus';
    if (typeof figure !== 'number' || figure < min || figure > max || (whole && !Number.isInteger(figure))) {
      problems.push({ field: key, message: `must be ${whole ? 'a whole number' : 'a number'} from ${min} to ${max}` });
    } else {
      capacity[key] = figure;
    }
  }
  return { capacity, problems };
}

/**
 * DOCKER_ENGINES: a JSON array with one object per engine, each as the docker CLI would be pointed at it:
 * `[{"name": "a", "host": "unix:///var/run/docker.sock"}, {"name": "b", "host": "tcp://10.0.0.2:2376",
 * "tlsVerify": true, "certPath": "/etc/runnerhub/b", "labels": ["gpu"], "memoryMb": 65536, "cpus": 16,
 * "maxContainers": 20}]`. Returns the engines, or every problem found (each naming the engine and the field).
 */
export function parseDockerEngines(text: string): { engines: EngineSetting[]; problems: string[] } {
  const problems: string[] = [];
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    value = undefined;
  }
  if (!Array.isArray(value) || value.length === 0) {
    return {
      engines: [],
      problems: [
        'DOCKER_ENGINES must be a non-empty JSON array of engines, such as ' +
          '[{"name":"a","host":"unix:///var/run/docker.sock"},{"name":"b","host":"tcp://10.0.0.2:2376","tlsVerify":true,"certPath":"/etc/runnerhub/b"}]',
      ],
    };
  }
  const engines: EngineSetting[] = [];
  const seen = new Set<string>();
  value.forEach((item: unknown, index) => {
    const where = `DOCKER_ENGINES[${index}]`;
    if (typeof item !== 'object' || item === null || Array.isArray(item)) {
      problems.push(`${where} must be an object with at least "name" and "host"`);
      return;
    }
    const checked = checkEngineDefinition(item as Record<string, unknown>);
    problems.push(...checked.problems.map((problem) => `${where}.${problem.field} ${problem.message}`));
    if (!checked.engine) return;
    if (seen.has(checked.engine.name)) {
      problems.push(`${where}.name "${checked.engine.name}" is given twice: each engine needs a name of its own`);
      return;
    }
    seen.add(checked.engine.name);
    engines.push(checked.engine);
  });
  return { engines: problems.length > 0 ? [] : engines, problems };
}
