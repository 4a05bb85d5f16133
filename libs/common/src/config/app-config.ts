import { isAbsolute, resolve } from 'node:path';
import { plainToInstance } from 'class-transformer';
import { ValidationError, validateSync } from 'class-validator';
import {
  DEFAULT_ENGINE_NAME,
  defaultCertPath,
  EngineSetting,
  parseDockerEngines,
  parseDockerHost,
} from './engine-settings';
import { EnvironmentDto } from './environment.dto';
import { parseRunnerPools, type RunnerPoolSetting } from './runner-pools';

export type ApiKeyRole = 'viewer' | 'operator' | 'admin';
export interface ApiKeySpec {
  key: string;
  role: ApiKeyRole;
}

/** Where a new container goes among the engines that fit it (PLACEMENT). */
export type PlacementMode = 'spread' | 'pack';

/** Where the Docker engine is, in the shape the engine client takes. */
export type DockerEndpoint =
  | { kind: 'socket'; socketPath: string }
  | {
      kind: 'tcp';
      protocol: 'http' | 'https';
      host: string;
      port: number;
      /** Set with DOCKER_TLS_VERIFY: the directory holding ca.pem, cert.pem and key.pem (DOCKER_CERT_PATH). */
      tls?: { certPath: string };
    };

/** How a runner image expects to be run: its command, user and the variables it reads its credentials from. */
export type RunnerImageFamilyName = 'actions' | 'myoung34' | 'custom';
export type ImagePullPolicy = 'if-not-present' | 'always' | 'never';
/** strict: no capabilities, no-new-privileges; standard: Docker's default capabilities (sudo works); docker: standard plus a per-job Docker daemon. */
export type RunnerProfileName = 'strict' | 'standard' | 'docker';
export const RUNNER_PROFILE_NAMES: readonly RunnerProfileName[] = ['strict', 'standard', 'docker'];

/** Credentials for one registry, as the engine's pull takes them. */
export interface RegistryCredential {
  /** The registry's host (and port), as it starts an image reference: `ghcr.io`, `127.0.0.1:5000`; `docker.io` for Docker Hub. */
  registry: string;
  username: string;
  password: string;
}

/**
 * The official runner image, pinned: a runner older than GitHub accepts updates itself and exits, so a moving tag
 * would make every job start with an update. Raise it with each actions/runner release you have tested.
 */
export const DEFAULT_RUNNER_IMAGE = 'ghcr.io/actions/actions-runner:2.336.0';
/** The official Docker-in-Docker image, pinned, for the `docker` profile's per-job daemon. */
export const DEFAULT_DIND_IMAGE = 'docker:27.5.1-dind';

export type DatabaseSettings = { kind: 'sqlite'; file: string; dataDir: string } | { kind: 'postgres'; url: string };

/**
 * RunnerHub's whole configuration, validated and typed. Built once at start by {@link loadAppConfig} and injected
 * wherever a setting is needed, so no provider reads process.env.
 */
export class AppConfig {
  readonly nodeEnv!: 'development' | 'production' | 'test';
  readonly port!: number;
  readonly log!: { level: string; format: 'json' | 'pretty' };
  readonly database!: DatabaseSettings;
  /** The first engine's endpoint (DOCKER_HOST, or the first of DOCKER_ENGINES). */
  readonly docker!: DockerEndpoint;
  /** The Docker engines RunnerHub places containers on; DOCKER_HOST alone is the one engine `default`. */
  readonly engines!: EngineSetting[];
  /**
   * Where a new container goes among the engines that fit it: `spread` the least loaded, `pack` the most loaded that
   * still has room (so idle hosts stay empty and can be switched off).
   */
  readonly placement!: { mode: PlacementMode };
  /** Each engine is pinged every `intervalMs`; one that has not answered for `unreachableAfterMs` is `unreachable`. */
  readonly engineProbe!: { intervalMs: number; unreachableAfterMs: number };
  /** Keys from RUNNERHUB_API_KEYS; undefined when unset (one admin key is then generated on first start). */
  readonly apiKeys!: ApiKeySpec[] | undefined;
  /** The default runner image (a job may name its own). */
  readonly runnerImage!: string;
  /** How runner containers are made: the image's family, pulls, profiles. */
  readonly runners!: {
    family: RunnerImageFamilyName;
    pullPolicy: ImagePullPolicy;
    /** Pull RUNNER_IMAGE once at start, in the background, so the first job does not wait for it. */
    prepull: boolean;
    registryAuth: RegistryCredential[];
    /** Only for the `custom` family: what the operator says the image needs. */
    custom: { command?: string[]; user?: string; jitEnv?: string; tokenEnv?: string };
    defaultProfile: RunnerProfileName;
    /** Runner label (lower case) to the profile a job asking for it gets. */
    profilesByLabel: Record<string, RunnerProfileName>;
    pidsLimit: number;
    dind: { image: string; privileged: boolean };
    /** After a GitHub job's runner ended, how long to wait for its `completed` webhook before asking GitHub. */
    completionTimeoutMs: number;
    /** Warm pools of idle runners started ahead of demand (RUNNER_POOLS); none by default. */
    pools: RunnerPoolSetting[];
  };
  /**
   * Replicas on one PostgreSQL: each periodic duty (cleanup, retention, stale sweep, monitoring rounds) has one leader
   * at a time; a replica tries to take a duty whose leader is gone every `retryMs`, which bounds the fail-over.
   */
  readonly leadership!: { retryMs: number };
  /** Where RunnerHub keeps its files (RUNNERHUB_DATA_DIR): the SQLite database, a generated admin key. */
  readonly dataDir!: string;
  /** Containers RunnerHub holds at once, whoever asked for them: GitHub jobs, API jobs and API containers. */
  readonly maxConcurrentContainers!: number;
  /**
   * Calls per minute: mutating (POST, PUT, PATCH, DELETE) and reading calls per API key, and calls without a valid
   * key per client address (counted before authentication, so a stranger cannot make RunnerHub write rows).
   */
  readonly rateLimit!: { mutationsPerMinute: number; readsPerMinute: number; anonymousPerMinute: number };
  /** What one viewer may hold open or ask for at once. */
  readonly streams!: { maxOpen: number; maxOpenPerKey: number; bufferBytes: number; logsMaxBytes: number };
  /** How long records are kept; one pruning job applies them all (stats samples: monitoring.statsRetentionMs). */
  readonly retention!: { auditDays: number; deliveryDays: number; intervalMs: number };
  readonly metrics!: {
    /** When set, GET /metrics needs `Authorization: Bearer <token>` (Prometheus `bearer_token`). */
    token?: string;
    /** Repository names as series labels; off by default, as they may be private. */
    repositoryLabels: boolean;
  };
  /** Who may be given a runner credential: images and repositories a job may name. */
  readonly jobs!: {
    /** Image references or globs (`*` any run of characters); by default the configured runner image only. */
    imagesAllowed: string[];
    /** `owner` or `owner/name` globs; empty means every repository the GitHub credential covers. */
    repositoriesAllowed: string[];
  };
  /** What a runner container may ask for: limits are checked against these ceilings before the engine sees them. */
  readonly containers!: {
    network: string;
    maxMemoryMB: number;
    maxCpus: number;
    maxPids: number;
    maxDiskGB: number;
    /** Loosening the default profile is explicit: only what an operator listed may be requested. */
    allowedCapabilities: string[];
    allowedSecurityOpts: string[];
    allowedBindMountPrefixes: string[];
    /** `usernsMode: host` (leaving the engine's user-namespace remapping) may be asked for. Off by default. */
    allowUsernsHost: boolean;
    /** Caller label keys must start with one of these; `runnerhub.*` is RunnerHub's own whatever this says. */
    labelPrefixes: string[];
    /** What a container gets when its request names no limit: never unlimited. */
    defaults: { memoryMB: number; cpus: number; pidsLimit: number };
    /** Size of each scratch tmpfs (a read-only root's /tmp and working directory); counted in the memory limit. */
    tmpfsSizeMB: number;
  };
  readonly github!: {
    apiUrl: string;
    token?: string;
    app?: { appId: number; privateKey: string; installationId: number };
    webhookSecret?: string;
    /** Deadline of one GitHub API call. */
    timeoutMs: number;
  };
  /** How jobs become runners: which jobs this RunnerHub serves, where runners register, how failures are retried. */
  readonly orchestration!: {
    /** A job is served when every label it asks for is one of these (compared without case). */
    runnerLabels: string[];
    /** Repository runners, or organisation runners of the repository's owner. */
    runnerScope: 'repository' | 'organization';
    runnerGroupId: number;
    runnerLimits: { cpuShares: number; memoryMB: number };
    maxAttempts: number;
    retryBackoffMs: number;
    /** An ASSIGNED job with no container after this long belongs to a replica that died: it is queued again. */
    assignTimeoutMs: number;
    dispatchIntervalMs: number;
  };
  readonly monitoring!: {
    statsIntervalMs: number;
    healthIntervalMs: number;
    /** How long the sample history is kept before it is pruned. */
    statsRetentionMs: number;
    /** Containers inspected at once by a health check. */
    healthConcurrency: number;
    /** A sample older than this counts as missing (its stats stream stalled); also the deadline of one inspection. */
    statsTimeoutMs: number;
    alertCpuPercent: number;
    alertMemoryPercent: number;
  };
  readonly cleanup!: {
    intervalMs: number;
    completedGraceMs: number;
    preserveFailed: boolean;
    failedRetentionMs: number;
    orphanAgeMs: number;
    stoppedAgeMs: number;
    /** A record still in a transitional state after this long was interrupted, and is settled from the engine. */
    stuckAfterMs: number;
    /** Removals in flight at once during a scan. */
    concurrency: number;
  };

  constructor(values: AppConfig) {
    Object.assign(this, values);
  }
}

/** Thrown when the environment breaks a rule; its message lists every offending variable and what to fix. */
export class ConfigurationError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigurationError';
  }
}

/** LIMIT_MAX_* when unset: the most a container may ask for. */
const CEILINGS = { memoryMB: 32_768, cpus: 16, pids: 32_768 };

export function loadAppConfig(env: Record<string, string | undefined>, cwd: string = process.cwd()): AppConfig {
  const dto = plainToInstance(EnvironmentDto, pickKnown(env));
  const errors = validateSync(dto, { forbidUnknownValues: true });
  if (errors.length > 0) throw new ConfigurationError(describe(errors, env));
  const problems = crossChecks(dto);
  const fleet = dto.DOCKER_ENGINES ? parseDockerEngines(dto.DOCKER_ENGINES) : null;
  if (fleet) problems.push(...fleet.problems);
  const pools = dto.RUNNER_POOLS
    ? parseRunnerPools(dto.RUNNER_POOLS, (dto.RUNNER_SCOPE ?? 'repository') as 'repository' | 'organization')
    : null;
  if (pools) problems.push(...pools.problems);
  if (problems.length > 0) throw new ConfigurationError(problems);
  const engines: EngineSetting[] = fleet?.engines ?? [
    {
      name: DEFAULT_ENGINE_NAME,
      endpoint: parseDockerHost(
        dto.DOCKER_HOST,
        dto.DOCKER_TLS_VERIFY ? (dto.DOCKER_CERT_PATH ?? defaultCertPath()) : undefined,
      ),
      labels: [],
      capacity: {},
    },
  ];

  const nodeEnv = (dto.NODE_ENV ?? 'development') as AppConfig['nodeEnv'];
  const dataDir = absolute(dto.RUNNERHUB_DATA_DIR ?? './data', cwd);
  return new AppConfig({
    nodeEnv,
    port: dto.PORT ?? 3000,
    log: {
      level: dto.LOG_LEVEL ?? (nodeEnv === 'test' ? 'warn' : 'info'),
      format: (dto.LOG_FORMAT ?? (nodeEnv === 'development' ? 'pretty' : 'json')) as 'json' | 'pretty',
    },
    database: dto.DATABASE_URL
      ? { kind: 'postgres', url: dto.DATABASE_URL }
      : { kind: 'sqlite', dataDir, file: resolve(dataDir, 'runnerhub.sqlite') },
    docker: engines[0].endpoint,
    engines,
    placement: { mode: (dto.PLACEMENT ?? 'spread') as PlacementMode },
    engineProbe: {
      intervalMs: dto.ENGINE_PROBE_INTERVAL_MS ?? 5_000,
      unreachableAfterMs: dto.ENGINE_UNREACHABLE_AFTER_MS ?? 15_000,
    },
    dataDir,
    leadership: { retryMs: dto.LEADERSHIP_RETRY_MS ?? 5_000 },
    apiKeys: dto.RUNNERHUB_API_KEYS?.split(',').map((pair) => {
      const at = pair.lastIndexOf(':');
      return { key: pair.slice(0, at), role: pair.slice(at + 1) as ApiKeyRole };
    }),
    runnerImage: dto.RUNNER_IMAGE ?? DEFAULT_RUNNER_IMAGE,
    runners: {
      family: (dto.RUNNER_IMAGE_FAMILY ?? 'actions') as RunnerImageFamilyName,
      pullPolicy: (dto.RUNNER_IMAGE_PULL ?? 'if-not-present') as ImagePullPolicy,
      prepull: dto.RUNNER_IMAGE_PREPULL ?? true,
      registryAuth: parseRegistryAuth(dto.REGISTRY_AUTH),
      custom: {
        command: dto.RUNNER_CUSTOM_COMMAND ? (JSON.parse(dto.RUNNER_CUSTOM_COMMAND) as string[]) : undefined,
        user: dto.RUNNER_CUSTOM_USER,
        jitEnv: dto.RUNNER_CUSTOM_JIT_ENV,
        tokenEnv: dto.RUNNER_CUSTOM_TOKEN_ENV,
      },
      defaultProfile: (dto.RUNNER_DEFAULT_PROFILE ?? 'strict') as RunnerProfileName,
      profilesByLabel: Object.fromEntries(
        splitList(dto.RUNNER_PROFILES).map((pair) => {
          const [label, profile] = pair.split(':');
          return [label.toLowerCase(), profile as RunnerProfileName];
        }),
      ),
      pidsLimit: dto.RUNNER_PIDS_LIMIT ?? 4096,
      dind: { image: dto.DIND_IMAGE ?? DEFAULT_DIND_IMAGE, privileged: dto.DIND_PRIVILEGED ?? true },
      completionTimeoutMs: dto.JOB_COMPLETION_TIMEOUT_MS ?? 600_000,
      pools: pools?.pools ?? [],
    },
    maxConcurrentContainers: dto.MAX_CONCURRENT_CONTAINERS ?? 10,
    rateLimit: {
      mutationsPerMinute: dto.RATE_LIMIT_MUTATIONS_PER_MINUTE ?? 600,
      readsPerMinute: dto.RATE_LIMIT_READS_PER_MINUTE ?? 6_000,
      anonymousPerMinute: dto.RATE_LIMIT_ANONYMOUS_PER_MINUTE ?? 60,
    },
    streams: {
      maxOpen: dto.SSE_MAX ?? 500,
      maxOpenPerKey: dto.SSE_MAX_PER_KEY ?? 20,
      bufferBytes: dto.SSE_BUFFER_BYTES ?? 1_048_576,
      logsMaxBytes: dto.LOGS_MAX_BYTES ?? 1_048_576,
    },
    retention: {
      auditDays: dto.AUDIT_RETENTION_DAYS ?? 90,
      deliveryDays: dto.DELIVERY_RETENTION_DAYS ?? 14,
      intervalMs: dto.RETENTION_INTERVAL_MS ?? 3_600_000,
    },
    metrics: { token: dto.METRICS_TOKEN, repositoryLabels: dto.METRICS_REPOSITORY_LABELS ?? false },
    jobs: {
      imagesAllowed: dto.RUNNER_IMAGES_ALLOWED
        ? splitList(dto.RUNNER_IMAGES_ALLOWED)
        : [dto.RUNNER_IMAGE ?? DEFAULT_RUNNER_IMAGE],
      repositoriesAllowed: splitList(dto.REPOSITORIES_ALLOWED),
    },
    containers: {
      network: dto.RUNNER_NETWORK ?? 'bridge',
      maxMemoryMB: dto.LIMIT_MAX_MEMORY_MB ?? CEILINGS.memoryMB,
      maxCpus: dto.LIMIT_MAX_CPUS ?? CEILINGS.cpus,
      maxPids: dto.LIMIT_MAX_PIDS ?? CEILINGS.pids,
      maxDiskGB: dto.LIMIT_MAX_DISK_GB ?? 500,
      allowedCapabilities: splitList(dto.SECURITY_ALLOWED_CAPABILITIES),
      allowedSecurityOpts: splitList(dto.SECURITY_ALLOWED_SECURITY_OPTS),
      allowedBindMountPrefixes: splitList(dto.SECURITY_ALLOWED_BIND_MOUNTS),
      allowUsernsHost: dto.SECURITY_ALLOW_USERNS_HOST ?? false,
      labelPrefixes: splitList(dto.CONTAINER_LABEL_PREFIXES ?? 'org.opencontainers.,app.'),
      defaults: {
        memoryMB: dto.DEFAULT_MEMORY_MB ?? 2_048,
        cpus: dto.DEFAULT_CPUS ?? 2,
        pidsLimit: dto.DEFAULT_PIDS ?? 512,
      },
      tmpfsSizeMB: dto.TMPFS_SIZE_MB ?? 256,
    },
    github: {
      apiUrl: (dto.GITHUB_API_URL ?? 'https://api.github.com').replace(/\/+$/, ''),
      token: dto.GITHUB_TOKEN,
      app:
        dto.GITHUB_APP_ID !== undefined
          ? {
              appId: dto.GITHUB_APP_ID,
              privateKey: dto.GITHUB_APP_PRIVATE_KEY!,
              installationId: dto.GITHUB_APP_INSTALLATION_ID!,
            }
          : undefined,
      webhookSecret: dto.GITHUB_WEBHOOK_SECRET,
      timeoutMs: dto.GITHUB_TIMEOUT_MS ?? 10_000,
    },
    orchestration: {
      runnerLabels: splitList(dto.RUNNER_LABELS ?? 'self-hosted,linux,x64'),
      runnerScope: (dto.RUNNER_SCOPE ?? 'repository') as 'repository' | 'organization',
      runnerGroupId: dto.RUNNER_GROUP_ID ?? 1,
      runnerLimits: { cpuShares: dto.RUNNER_CPU_SHARES ?? 2048, memoryMB: dto.RUNNER_MEMORY_MB ?? 4096 },
      maxAttempts: dto.JOB_MAX_ATTEMPTS ?? 3,
      retryBackoffMs: dto.JOB_RETRY_BACKOFF_MS ?? 2_000,
      assignTimeoutMs: dto.JOB_ASSIGN_TIMEOUT_MS ?? 120_000,
      dispatchIntervalMs: dto.DISPATCH_INTERVAL_MS ?? 2_000,
    },
    monitoring: {
      statsIntervalMs: dto.STATS_INTERVAL_MS ?? 30_000,
      healthIntervalMs: dto.HEALTH_INTERVAL_MS ?? 30_000,
      statsRetentionMs: dto.STATS_RETENTION_MS ?? 86_400_000,
      healthConcurrency: dto.HEALTH_CONCURRENCY ?? 16,
      statsTimeoutMs: dto.STATS_TIMEOUT_MS ?? 5_000,
      alertCpuPercent: dto.ALERT_CPU_PERCENT ?? 80,
      alertMemoryPercent: dto.ALERT_MEMORY_PERCENT ?? 90,
    },
    cleanup: {
      intervalMs: dto.CLEANUP_INTERVAL_MS ?? 300_000,
      completedGraceMs: dto.CLEANUP_COMPLETED_GRACE_MS ?? 300_000,
      preserveFailed: dto.CLEANUP_PRESERVE_FAILED ?? true,
      failedRetentionMs: dto.CLEANUP_FAILED_RETENTION_MS ?? 86_400_000,
      orphanAgeMs: dto.CLEANUP_ORPHAN_AGE_MS ?? 3_600_000,
      stoppedAgeMs: dto.CLEANUP_STOPPED_AGE_MS ?? 3_600_000,
      stuckAfterMs: dto.CLEANUP_STUCK_AFTER_MS ?? 600_000,
      concurrency: dto.CLEANUP_CONCURRENCY ?? 8,
    },
  });
}

/** Rules that tie variables together, checked once each variable is valid on its own. */
function crossChecks(dto: EnvironmentDto): string[] {
  const problems: string[] = [];
  if (dto.RUNNER_CUSTOM_COMMAND !== undefined) {
    let command: unknown;
    try {
      command = JSON.parse(dto.RUNNER_CUSTOM_COMMAND);
    } catch {
      command = undefined;
    }
    if (!Array.isArray(command) || command.length === 0 || !command.every((arg) => typeof arg === 'string')) {
      problems.push('RUNNER_CUSTOM_COMMAND must be a non-empty JSON array of strings, such as ["/home/runner/run.sh"]');
    }
  }
  if (dto.RUNNER_IMAGE_FAMILY === 'custom' && !dto.RUNNER_CUSTOM_JIT_ENV && !dto.RUNNER_CUSTOM_TOKEN_ENV) {
    problems.push(
      'RUNNER_IMAGE_FAMILY=custom needs RUNNER_CUSTOM_JIT_ENV (the variable the image reads a just-in-time ' +
        'configuration from) or RUNNER_CUSTOM_TOKEN_ENV (the variable it reads a registration token from), or both',
    );
  }
  const defaultsUnderCeilings: Array<[string, number | undefined, string, number]> = [
    ['DEFAULT_MEMORY_MB', dto.DEFAULT_MEMORY_MB, 'LIMIT_MAX_MEMORY_MB', dto.LIMIT_MAX_MEMORY_MB ?? CEILINGS.memoryMB],
    ['DEFAULT_CPUS', dto.DEFAULT_CPUS, 'LIMIT_MAX_CPUS', dto.LIMIT_MAX_CPUS ?? CEILINGS.cpus],
    ['DEFAULT_PIDS', dto.DEFAULT_PIDS, 'LIMIT_MAX_PIDS', dto.LIMIT_MAX_PIDS ?? CEILINGS.pids],
  ];
  for (const [name, value, ceilingName, ceiling] of defaultsUnderCeilings) {
    if (value !== undefined && value > ceiling) {
      problems.push(`${name} (${value}) must not exceed ${ceilingName} (${ceiling})`);
    }
  }
  if (dto.DOCKER_TLS_VERIFY && !/^(tcp|https?):\/\//.test(dto.DOCKER_HOST ?? '')) {
    problems.push(
      'DOCKER_TLS_VERIFY needs DOCKER_HOST=tcp://host:port (TLS is for an engine reached over the network)',
    );
  }
  try {
    parseRegistryAuth(dto.REGISTRY_AUTH);
  } catch (error) {
    problems.push((error as Error).message);
  }
  return problems;
}

/**
 * REGISTRY_AUTH as the docker CLI's config.json (`{"auths": {"ghcr.io": {"auth": base64("user:password")}}}`, or
 * `username`/`password` fields), or the short form `registry=user:password,...`. Messages never echo a secret.
 */
export function parseRegistryAuth(value: string | undefined): RegistryCredential[] {
  if (!value) return [];
  const invalid = (why: string) =>
    new Error(`REGISTRY_AUTH ${why}: give the docker CLI's config.json or registry=user:password,...`);
  if (value.trim().startsWith('{')) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(value);
    } catch {
      throw invalid('is not valid JSON');
    }
    const auths = (parsed as { auths?: unknown } | null)?.auths;
    if (typeof auths !== 'object' || auths === null) throw invalid('has no "auths" object');
    return Object.entries(auths as Record<string, unknown>).map(([registry, entry]) => {
      const record = (entry ?? {}) as { auth?: unknown; username?: unknown; password?: unknown };
      let username = typeof record.username === 'string' ? record.username : undefined;
      let password = typeof record.password === 'string' ? record.password : undefined;
      if (typeof record.auth === 'string') {
        const decoded = Buffer.from(record.auth, 'base64').toString('utf8');
        const colon = decoded.indexOf(':');
        if (colon <= 0) throw invalid(`has an "auth" for ${registry} that is not base64 of user:password`);
        username = decoded.slice(0, colon);
        password = decoded.slice(colon + 1);
      }
      if (!username || password === undefined) throw invalid(`has no user and password for ${registry}`);
      return { registry: normaliseRegistry(registry), username, password };
    });
  }
  return splitList(value).map((entry) => {
    const match = /^([^=\s]+)=([^:]+):(.+)$/.exec(entry);
    if (!match) throw invalid('has an entry that is not registry=user:password');
    return { registry: normaliseRegistry(match[1]), username: match[2], password: match[3] };
  });
}

/** `https://index.docker.io/v1/` (what `docker login` writes for Docker Hub) and `docker.io` are one registry. */
function normaliseRegistry(registry: string): string {
  const host = registry.replace(/^https?:\/\//, '').replace(/\/.*$/, '');
  return host === 'index.docker.io' || host === 'registry-1.docker.io' ? 'docker.io' : host;
}

function splitList(value: string | undefined): string[] {
  return value
    ? value
        .split(',')
        .map((item) => item.trim())
        .filter(Boolean)
    : [];
}

function absolute(path: string, cwd: string): string {
  return isAbsolute(path) ? path : resolve(cwd, path);
}

/** Only the variables RunnerHub knows are validated; the rest of the environment is none of its business. */
function pickKnown(env: Record<string, string | undefined>): Record<string, string> {
  const known = new Set(Object.keys(new EnvironmentDtoKeys()));
  return Object.fromEntries(
    Object.entries(env).filter((entry): entry is [string, string] => known.has(entry[0]) && entry[1] !== undefined),
  );
}

// The DTO's property names, as a runtime list: class-validator's metadata would do too, but this keeps the list
// next to the type and makes a forgotten variable a compile error.
class EnvironmentDtoKeys implements Record<keyof EnvironmentDto, true> {
  NODE_ENV = true as const;
  PORT = true as const;
  LOG_LEVEL = true as const;
  LOG_FORMAT = true as const;
  DATABASE_URL = true as const;
  RUNNERHUB_DATA_DIR = true as const;
  DOCKER_HOST = true as const;
  DOCKER_TLS_VERIFY = true as const;
  DOCKER_CERT_PATH = true as const;
  RUNNERHUB_API_KEYS = true as const;
  RUNNER_IMAGE = true as const;
  RUNNER_IMAGE_FAMILY = true as const;
  RUNNER_IMAGE_PULL = true as const;
  RUNNER_IMAGE_PREPULL = true as const;
  REGISTRY_AUTH = true as const;
  RUNNER_CUSTOM_COMMAND = true as const;
  RUNNER_CUSTOM_USER = true as const;
  RUNNER_CUSTOM_JIT_ENV = true as const;
  RUNNER_CUSTOM_TOKEN_ENV = true as const;
  RUNNER_DEFAULT_PROFILE = true as const;
  RUNNER_PROFILES = true as const;
  RUNNER_PIDS_LIMIT = true as const;
  DIND_IMAGE = true as const;
  DIND_PRIVILEGED = true as const;
  JOB_COMPLETION_TIMEOUT_MS = true as const;
  SECURITY_ALLOW_USERNS_HOST = true as const;
  CONTAINER_LABEL_PREFIXES = true as const;
  DEFAULT_MEMORY_MB = true as const;
  DEFAULT_CPUS = true as const;
  DEFAULT_PIDS = true as const;
  TMPFS_SIZE_MB = true as const;
  RUNNER_IMAGES_ALLOWED = true as const;
  REPOSITORIES_ALLOWED = true as const;
  LEADERSHIP_RETRY_MS = true as const;
  DOCKER_ENGINES = true as const;
  RUNNER_POOLS = true as const;
  PLACEMENT = true as const;
  ENGINE_PROBE_INTERVAL_MS = true as const;
  ENGINE_UNREACHABLE_AFTER_MS = true as const;
  MAX_CONCURRENT_CONTAINERS = true as const;
  RATE_LIMIT_MUTATIONS_PER_MINUTE = true as const;
  RATE_LIMIT_READS_PER_MINUTE = true as const;
  RATE_LIMIT_ANONYMOUS_PER_MINUTE = true as const;
  SSE_MAX = true as const;
  SSE_MAX_PER_KEY = true as const;
  SSE_BUFFER_BYTES = true as const;
  LOGS_MAX_BYTES = true as const;
  AUDIT_RETENTION_DAYS = true as const;
  DELIVERY_RETENTION_DAYS = true as const;
  RETENTION_INTERVAL_MS = true as const;
  METRICS_TOKEN = true as const;
  METRICS_REPOSITORY_LABELS = true as const;
  RUNNER_NETWORK = true as const;
  LIMIT_MAX_MEMORY_MB = true as const;
  LIMIT_MAX_CPUS = true as const;
  LIMIT_MAX_PIDS = true as const;
  LIMIT_MAX_DISK_GB = true as const;
  SECURITY_ALLOWED_CAPABILITIES = true as const;
  SECURITY_ALLOWED_SECURITY_OPTS = true as const;
  SECURITY_ALLOWED_BIND_MOUNTS = true as const;
  GITHUB_API_URL = true as const;
  GITHUB_TOKEN = true as const;
  GITHUB_APP_ID = true as const;
  GITHUB_APP_PRIVATE_KEY = true as const;
  GITHUB_APP_INSTALLATION_ID = true as const;
  GITHUB_WEBHOOK_SECRET = true as const;
  GITHUB_TIMEOUT_MS = true as const;
  RUNNER_LABELS = true as const;
  RUNNER_SCOPE = true as const;
  RUNNER_GROUP_ID = true as const;
  RUNNER_CPU_SHARES = true as const;
  RUNNER_MEMORY_MB = true as const;
  JOB_MAX_ATTEMPTS = true as const;
  JOB_RETRY_BACKOFF_MS = true as const;
  JOB_ASSIGN_TIMEOUT_MS = true as const;
  DISPATCH_INTERVAL_MS = true as const;
  STATS_INTERVAL_MS = true as const;
  HEALTH_INTERVAL_MS = true as const;
  STATS_RETENTION_MS = true as const;
  HEALTH_CONCURRENCY = true as const;
  STATS_TIMEOUT_MS = true as const;
  CLEANUP_INTERVAL_MS = true as const;
  CLEANUP_COMPLETED_GRACE_MS = true as const;
  CLEANUP_PRESERVE_FAILED = true as const;
  CLEANUP_FAILED_RETENTION_MS = true as const;
  CLEANUP_ORPHAN_AGE_MS = true as const;
  CLEANUP_STOPPED_AGE_MS = true as const;
  CLEANUP_STUCK_AFTER_MS = true as const;
  CLEANUP_CONCURRENCY = true as const;
  ALERT_CPU_PERCENT = true as const;
  ALERT_MEMORY_PERCENT = true as const;
}

/** Secrets never appear in a configuration error: the value is echoed only for variables that are not secret. */
const SECRET_VARIABLES = new Set([
  'RUNNERHUB_API_KEYS',
  'GITHUB_TOKEN',
  'GITHUB_APP_PRIVATE_KEY',
  'GITHUB_WEBHOOK_SECRET',
  'DATABASE_URL',
  'REGISTRY_AUTH',
  'METRICS_TOKEN',
]);

function describe(errors: ValidationError[], env: Record<string, string | undefined>): string[] {
  return errors.map((error) => {
    const messages = [...new Set(Object.values(error.constraints ?? {}))].join('; ');
    const raw = env[error.property];
    const got = SECRET_VARIABLES.has(error.property) || raw === undefined ? '' : ` (got ${JSON.stringify(raw)})`;
    return `${messages}${got}`;
  });
}
