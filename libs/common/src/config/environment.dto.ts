import { applyDecorators } from '@nestjs/common';
import { Transform } from 'class-transformer';
import {
  IsBoolean,
  IsIn,
  IsInt,
  IsNotEmpty,
  IsOptional,
  IsString,
  IsUrl,
  Matches,
  Max,
  Min,
  MinLength,
  ValidateIf,
} from 'class-validator';

/** Empty strings mean "not set", as in a shell `FOO= node main.js` or a compose file's blank value. */
const blankToUndefined = ({ value }: { value: unknown }) =>
  typeof value === 'string' && value.trim() === '' ? undefined : value;
const toInteger = ({ value }: { value: unknown }) => {
  const v = blankToUndefined({ value });
  // Number('') is 0 and Number('1e3') is 1000: accept plain decimal integers only, leave the rest for the validator.
  return typeof v === 'string' && /^-?\d+$/.test(v.trim()) ? Number(v) : v;
};
const toBoolean = ({ value }: { value: unknown }) => {
  const v = blankToUndefined({ value });
  if (typeof v !== 'string') return v;
  const lower = v.trim().toLowerCase();
  if (['true', '1', 'yes', 'on'].includes(lower)) return true;
  if (['false', '0', 'no', 'off'].includes(lower)) return false;
  return v;
};

const A_WEEK_MS = 7 * 24 * 3600 * 1000;
const A_YEAR_MS = 365 * 24 * 3600 * 1000;
const API_KEY = '[A-Za-z0-9._~+/=-]{16,}:(viewer|operator|admin)';
const API_KEYS_PATTERN = new RegExp(`^${API_KEY}(,${API_KEY})*$`);

/** An optional integer variable within [min, max]; one message, naming the variable, for every way it can be wrong. */
function IntegerSetting(name: string, min: number, max: number, hint = '') {
  const message = `${name} must be an integer from ${min} to ${max}${hint}`;
  return applyDecorators(
    IsOptional(),
    IsInt({ message }),
    Min(min, { message }),
    Max(max, { message }),
    Transform(toInteger),
  );
}

/** An optional variable that must match a pattern. */
function PatternSetting(pattern: RegExp, message: string) {
  return applyDecorators(IsOptional(), Matches(pattern, { message }), Transform(blankToUndefined));
}

/** An optional variable with a fixed set of values. */
function ChoiceSetting(name: string, choices: string[]) {
  return applyDecorators(
    IsOptional(),
    IsIn(choices, { message: `${name} must be one of ${choices.join(', ')}` }),
    Transform(blankToUndefined),
  );
}

function UrlSetting(protocols: string[], message: string) {
  return applyDecorators(
    IsOptional(),
    IsUrl({ protocols, require_tld: false, require_protocol: true }, { message }),
    Transform(blankToUndefined),
  );
}

function SecretSetting() {
  return applyDecorators(IsOptional(), IsString(), Transform(blankToUndefined));
}

/** The three GitHub App settings come together or not at all. */
const anyGitHubAppSetting = (env: EnvironmentDto) =>
  env.GITHUB_APP_ID !== undefined ||
  env.GITHUB_APP_PRIVATE_KEY !== undefined ||
  env.GITHUB_APP_INSTALLATION_ID !== undefined;

/**
 * The environment RunnerHub reads, with the rule each variable must follow. Validated once at start; nothing else in
 * the code base reads process.env. Messages name the variable so that a bad deployment says what to fix.
 */
export class EnvironmentDto {
  @ChoiceSetting('NODE_ENV', ['development', 'production', 'test'])
  NODE_ENV?: string;

  @IntegerSetting('PORT', 0, 65535)
  PORT?: number;

  @ChoiceSetting('LOG_LEVEL', ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'])
  LOG_LEVEL?: string;

  @ChoiceSetting('LOG_FORMAT', ['json', 'pretty'])
  LOG_FORMAT?: string;

  @UrlSetting(
    ['postgres', 'postgresql'],
    'DATABASE_URL must be a postgres:// or postgresql:// URL, for example postgres://user:pass@host:5432/db',
  )
  DATABASE_URL?: string;

  @IsOptional()
  @IsString()
  @IsNotEmpty({ message: 'RUNNERHUB_DATA_DIR must be a directory path' })
  @Transform(blankToUndefined)
  RUNNERHUB_DATA_DIR?: string;

  @PatternSetting(
    /^(unix:\/\/\/.+|(tcp|http|https):\/\/[^/:]+(:\d{1,5})?\/?)$/,
    'DOCKER_HOST must be unix:///path/to/docker.sock or tcp://host:port (as the docker CLI reads it)',
  )
  DOCKER_HOST?: string;

  /** As the docker CLI reads it: any non-empty value but 0/false means TLS to a tcp:// DOCKER_HOST, verified. */
  @IsOptional()
  @IsBoolean({ message: 'DOCKER_TLS_VERIFY must be true or false (1 or 0, as the docker CLI takes it)' })
  @Transform(toBoolean)
  DOCKER_TLS_VERIFY?: boolean;

  @IsOptional()
  @IsString()
  @IsNotEmpty({ message: 'DOCKER_CERT_PATH must be a directory holding ca.pem, cert.pem and key.pem' })
  @Transform(blankToUndefined)
  DOCKER_CERT_PATH?: string;

  @PatternSetting(
    API_KEYS_PATTERN,
    'RUNNERHUB_API_KEYS must be a comma-separated list of key:role, each key at least 16 characters of ' +
      '[A-Za-z0-9._~+/=-] and each role viewer, operator or admin',
  )
  RUNNERHUB_API_KEYS?: string;

  @PatternSetting(/^[a-z0-9][a-z0-9._\-/:@]*$/i, 'RUNNER_IMAGE must be an image reference such as owner/image:tag')
  RUNNER_IMAGE?: string;

  @ChoiceSetting('RUNNER_IMAGE_FAMILY', ['actions', 'myoung34', 'custom'])
  RUNNER_IMAGE_FAMILY?: string;

  @ChoiceSetting('RUNNER_IMAGE_PULL', ['if-not-present', 'always', 'never'])
  RUNNER_IMAGE_PULL?: string;

  @IsOptional()
  @IsBoolean({ message: 'RUNNER_IMAGE_PREPULL must be true or false' })
  @Transform(toBoolean)
  RUNNER_IMAGE_PREPULL?: boolean;

  /** Registry credentials: the docker CLI's config.json (`{"auths": ...}`), or `registry=user:password,...`. */
  @SecretSetting()
  REGISTRY_AUTH?: string;

  @PatternSetting(/^\[.*\]$/s, 'RUNNER_CUSTOM_COMMAND must be a JSON array of strings, such as ["/home/runner/run.sh"]')
  RUNNER_CUSTOM_COMMAND?: string;

  @PatternSetting(/^[A-Za-z0-9_.-]+(:[A-Za-z0-9_.-]+)?$/, 'RUNNER_CUSTOM_USER must be user, uid or uid:gid')
  RUNNER_CUSTOM_USER?: string;

  @PatternSetting(/^[A-Za-z_][A-Za-z0-9_]*$/, 'RUNNER_CUSTOM_JIT_ENV must be an environment variable name')
  RUNNER_CUSTOM_JIT_ENV?: string;

  @PatternSetting(/^[A-Za-z_][A-Za-z0-9_]*$/, 'RUNNER_CUSTOM_TOKEN_ENV must be an environment variable name')
  RUNNER_CUSTOM_TOKEN_ENV?: string;

  @ChoiceSetting('RUNNER_DEFAULT_PROFILE', ['strict', 'standard', 'docker'])
  RUNNER_DEFAULT_PROFILE?: string;

  @PatternSetting(
    /^[A-Za-z0-9._-]+:(strict|standard|docker)(,[A-Za-z0-9._-]+:(strict|standard|docker))*$/,
    'RUNNER_PROFILES must be a comma-separated list of label:profile (profiles strict, standard, docker), ' +
      'such as docker:docker,sudo:standard',
  )
  RUNNER_PROFILES?: string;

  @IntegerSetting('RUNNER_PIDS_LIMIT', 64, 1_048_576, ' (processes and threads of a runner container)')
  RUNNER_PIDS_LIMIT?: number;

  @PatternSetting(/^[a-z0-9][a-z0-9._\-/:@]*$/i, 'DIND_IMAGE must be an image reference such as docker:27.5.1-dind')
  DIND_IMAGE?: string;

  @IsOptional()
  @IsBoolean({ message: 'DIND_PRIVILEGED must be true or false' })
  @Transform(toBoolean)
  DIND_PRIVILEGED?: boolean;

  @IntegerSetting(
    'JOB_COMPLETION_TIMEOUT_MS',
    1000,
    A_WEEK_MS,
    ' (milliseconds after its runner ended before a job GitHub never reported completed is asked for)',
  )
  JOB_COMPLETION_TIMEOUT_MS?: number;

  // Never `host` or `container:...`: a runner always gets a network namespace of its own.
  @PatternSetting(
    /^(?!host$)[a-zA-Z0-9][a-zA-Z0-9_.-]*$/,
    'RUNNER_NETWORK must be bridge, none or a user-defined network (never host: runners get their own network namespace)',
  )
  RUNNER_NETWORK?: string;

  @IntegerSetting('LIMIT_MAX_MEMORY_MB', 6, 1_048_576)
  LIMIT_MAX_MEMORY_MB?: number;

  @IntegerSetting('LIMIT_MAX_CPUS', 1, 1024)
  LIMIT_MAX_CPUS?: number;

  @IntegerSetting('LIMIT_MAX_PIDS', 16, 4_194_304)
  LIMIT_MAX_PIDS?: number;

  @IntegerSetting('LIMIT_MAX_DISK_GB', 1, 65_536)
  LIMIT_MAX_DISK_GB?: number;

  @PatternSetting(
    /^[A-Z_]+(,[A-Z_]+)*$/,
    'SECURITY_ALLOWED_CAPABILITIES must be a comma-separated list of capability names such as NET_BIND_SERVICE,CHOWN',
  )
  SECURITY_ALLOWED_CAPABILITIES?: string;

  @PatternSetting(
    /^[a-z-]+(=[^,]+)?(,[a-z-]+(=[^,]+)?)*$/,
    'SECURITY_ALLOWED_SECURITY_OPTS must be a comma-separated list such as seccomp=/etc/runner.json,apparmor=runner',
  )
  SECURITY_ALLOWED_SECURITY_OPTS?: string;

  @PatternSetting(
    /^\/[^,:]*(,\/[^,:]*)*$/,
    'SECURITY_ALLOWED_BIND_MOUNTS must be a comma-separated list of absolute host paths such as /srv/cache',
  )
  SECURITY_ALLOWED_BIND_MOUNTS?: string;

  @IsOptional()
  @IsBoolean({ message: 'SECURITY_ALLOW_USERNS_HOST must be true or false' })
  @Transform(toBoolean)
  SECURITY_ALLOW_USERNS_HOST?: boolean;

  @PatternSetting(
    /^[a-z0-9][a-z0-9.-]*[.-](,[a-z0-9][a-z0-9.-]*[.-])*$/,
    'CONTAINER_LABEL_PREFIXES must be a comma-separated list of label key prefixes each ending in . or -, such as ' +
      'org.opencontainers.,app.',
  )
  CONTAINER_LABEL_PREFIXES?: string;

  @IntegerSetting('DEFAULT_MEMORY_MB', 6, 1_048_576, ' (memory of a container whose request names none)')
  DEFAULT_MEMORY_MB?: number;

  @IntegerSetting('DEFAULT_CPUS', 1, 1024, ' (CPUs of a container whose request names no quota)')
  DEFAULT_CPUS?: number;

  @IntegerSetting('DEFAULT_PIDS', 16, 4_194_304, ' (processes of a container whose request names no limit)')
  DEFAULT_PIDS?: number;

  @IntegerSetting('TMPFS_SIZE_MB', 1, 1_048_576, ' (size of each scratch tmpfs; counted in the memory limit)')
  TMPFS_SIZE_MB?: number;

  @PatternSetting(
    /^[^,\s]+(,[^,\s]+)*$/,
    'RUNNER_IMAGES_ALLOWED must be a comma-separated list of image references or globs, such as ' +
      'ghcr.io/actions/actions-runner:*',
  )
  RUNNER_IMAGES_ALLOWED?: string;

  @PatternSetting(
    /^[A-Za-z0-9*?_.-]+(\/[A-Za-z0-9*?_.-]+)?(,[A-Za-z0-9*?_.-]+(\/[A-Za-z0-9*?_.-]+)?)*$/,
    'REPOSITORIES_ALLOWED must be a comma-separated list of owner or owner/name globs, such as acme,tools/*-ci',
  )
  REPOSITORIES_ALLOWED?: string;

  @IntegerSetting(
    'LEADERSHIP_RETRY_MS',
    100,
    600_000,
    " (milliseconds between a replica's tries to take a periodic duty whose leader is gone)",
  )
  LEADERSHIP_RETRY_MS?: number;

  /** Several engines (a JSON array; see docs/FLEET.md); DOCKER_HOST is then not used. Checked in full by loadAppConfig. */
  @PatternSetting(
    /^\s*\[.*\]\s*$/s,
    'DOCKER_ENGINES must be a JSON array of engines, such as [{"name":"a","host":"unix:///var/run/docker.sock"}]',
  )
  DOCKER_ENGINES?: string;

  /** Warm pools of idle runners (a JSON array; see docs/RUNNERS.md). Checked in full by loadAppConfig. */
  @PatternSetting(
    /^\s*\[.*\]\s*$/s,
    'RUNNER_POOLS must be a JSON array of pools, such as [{"name":"linux","repository":"octo/app","labels":["self-hosted","linux"],"minIdle":2}]',
  )
  RUNNER_POOLS?: string;

  @ChoiceSetting('PLACEMENT', ['spread', 'pack'])
  PLACEMENT?: string;

  @IntegerSetting('ENGINE_PROBE_INTERVAL_MS', 100, 600_000, ' (milliseconds between pings of each engine)')
  ENGINE_PROBE_INTERVAL_MS?: number;

  @IntegerSetting(
    'ENGINE_UNREACHABLE_AFTER_MS',
    100,
    3_600_000,
    ' (milliseconds without an answer after which an engine is unreachable and its jobs move)',
  )
  ENGINE_UNREACHABLE_AFTER_MS?: number;

  @IntegerSetting('MAX_CONCURRENT_CONTAINERS', 1, 1000)
  MAX_CONCURRENT_CONTAINERS?: number;

  @IntegerSetting('RATE_LIMIT_MUTATIONS_PER_MINUTE', 1, 100_000, ' (mutating API calls per key and minute)')
  RATE_LIMIT_MUTATIONS_PER_MINUTE?: number;

  @IntegerSetting('RATE_LIMIT_READS_PER_MINUTE', 1, 1_000_000, ' (reading API calls per key and minute)')
  RATE_LIMIT_READS_PER_MINUTE?: number;

  @IntegerSetting(
    'RATE_LIMIT_ANONYMOUS_PER_MINUTE',
    1,
    1_000_000,
    ' (calls without a valid API key per client address and minute)',
  )
  RATE_LIMIT_ANONYMOUS_PER_MINUTE?: number;

  @IntegerSetting('SSE_MAX', 1, 100_000, ' (event streams open at once, in all)')
  SSE_MAX?: number;

  @IntegerSetting('SSE_MAX_PER_KEY', 1, 100_000, ' (event streams open at once per API key)')
  SSE_MAX_PER_KEY?: number;

  @IntegerSetting('SSE_BUFFER_BYTES', 1024, 1_073_741_824, ' (bytes queued for a slow event-stream client)')
  SSE_BUFFER_BYTES?: number;

  @IntegerSetting('LOGS_MAX_BYTES', 1024, 1_073_741_824, ' (bytes of container output in one logs answer)')
  LOGS_MAX_BYTES?: number;

  @IntegerSetting('AUDIT_RETENTION_DAYS', 1, 36_500, ' (days audit rows are kept)')
  AUDIT_RETENTION_DAYS?: number;

  @IntegerSetting('DELIVERY_RETENTION_DAYS', 1, 36_500, ' (days webhook delivery receipts are kept)')
  DELIVERY_RETENTION_DAYS?: number;

  @IntegerSetting('RETENTION_INTERVAL_MS', 1000, A_WEEK_MS, ' (milliseconds between pruning runs)')
  RETENTION_INTERVAL_MS?: number;

  @IsOptional()
  @IsString()
  @Matches(/^[A-Za-z0-9._~+/=-]{16,}$/, {
    message: 'METRICS_TOKEN must be at least 16 characters of [A-Za-z0-9._~+/=-] (a bearer token for Prometheus)',
  })
  @Transform(blankToUndefined)
  METRICS_TOKEN?: string;

  @IsOptional()
  @IsBoolean({ message: 'METRICS_REPOSITORY_LABELS must be true or false' })
  @Transform(toBoolean)
  METRICS_REPOSITORY_LABELS?: boolean;

  @UrlSetting(
    ['http', 'https'],
    'GITHUB_API_URL must be an http(s) URL, for example https://api.github.com or https://ghe.example/api/v3',
  )
  GITHUB_API_URL?: string;

  @SecretSetting()
  GITHUB_TOKEN?: string;

  @ValidateIf(anyGitHubAppSetting)
  @IsInt({
    message: 'GITHUB_APP_ID must be the numeric id of the GitHub App (set with its private key and installation id)',
  })
  @Min(1, { message: 'GITHUB_APP_ID must be a positive integer' })
  @Transform(toInteger)
  GITHUB_APP_ID?: number;

  @ValidateIf(anyGitHubAppSetting)
  @Matches(/-----BEGIN [A-Z ]*PRIVATE KEY-----/, {
    message:
      'GITHUB_APP_PRIVATE_KEY must be the PEM private key of the GitHub App (set with its id and installation id)',
  })
  @Transform(blankToUndefined)
  GITHUB_APP_PRIVATE_KEY?: string;

  @ValidateIf(anyGitHubAppSetting)
  @IsInt({ message: 'GITHUB_APP_INSTALLATION_ID must be the numeric installation id (set with the app id and key)' })
  @Min(1, { message: 'GITHUB_APP_INSTALLATION_ID must be a positive integer' })
  @Transform(toInteger)
  GITHUB_APP_INSTALLATION_ID?: number;

  // GitHub's docs ask for a random string of high entropy; 20 characters is the least RunnerHub accepts.
  @IsOptional()
  @IsString()
  @MinLength(20, { message: 'GITHUB_WEBHOOK_SECRET must be at least 20 characters (a random string of high entropy)' })
  @Transform(blankToUndefined)
  GITHUB_WEBHOOK_SECRET?: string;

  @IntegerSetting('GITHUB_TIMEOUT_MS', 100, 600_000, ' (milliseconds a GitHub API call may take)')
  GITHUB_TIMEOUT_MS?: number;

  @PatternSetting(
    /^[A-Za-z0-9._-]+(,[A-Za-z0-9._-]+)*$/,
    'RUNNER_LABELS must be a comma-separated list of runner labels, such as self-hosted,linux,x64',
  )
  RUNNER_LABELS?: string;

  @ChoiceSetting('RUNNER_SCOPE', ['repository', 'organization'])
  RUNNER_SCOPE?: string;

  @IntegerSetting('RUNNER_GROUP_ID', 1, 2_147_483_647, ' (the runner group of just-in-time runners)')
  RUNNER_GROUP_ID?: number;

  @IntegerSetting('RUNNER_CPU_SHARES', 2, 262_144, ' (relative CPU weight of a runner; 1024 is one CPU)')
  RUNNER_CPU_SHARES?: number;

  @IntegerSetting('RUNNER_MEMORY_MB', 6, 1_048_576, ' (memory limit of a runner container)')
  RUNNER_MEMORY_MB?: number;

  @IntegerSetting('JOB_MAX_ATTEMPTS', 1, 20, ' (tries to start a runner for a job before it fails)')
  JOB_MAX_ATTEMPTS?: number;

  @IntegerSetting('JOB_RETRY_BACKOFF_MS', 0, 3_600_000, ' (milliseconds before the first retry; doubles each time)')
  JOB_RETRY_BACKOFF_MS?: number;

  @IntegerSetting(
    'JOB_ASSIGN_TIMEOUT_MS',
    1000,
    A_WEEK_MS,
    ' (milliseconds a job may stay assigned without a container)',
  )
  JOB_ASSIGN_TIMEOUT_MS?: number;

  @IntegerSetting('DISPATCH_INTERVAL_MS', 50, 3_600_000, ' (milliseconds between sweeps of the job queue)')
  DISPATCH_INTERVAL_MS?: number;

  @IntegerSetting('STATS_INTERVAL_MS', 100, A_WEEK_MS, ' (milliseconds)')
  STATS_INTERVAL_MS?: number;

  @IntegerSetting('HEALTH_INTERVAL_MS', 100, A_WEEK_MS, ' (milliseconds)')
  HEALTH_INTERVAL_MS?: number;

  @IntegerSetting('STATS_RETENTION_MS', 0, A_YEAR_MS, ' (milliseconds the sample history is kept)')
  STATS_RETENTION_MS?: number;

  @IntegerSetting('HEALTH_CONCURRENCY', 1, 256, ' (containers inspected at once by a health check)')
  HEALTH_CONCURRENCY?: number;

  @IntegerSetting('STATS_TIMEOUT_MS', 100, 600_000, ' (milliseconds: a sample older than this counts as missing)')
  STATS_TIMEOUT_MS?: number;

  @IntegerSetting('CLEANUP_INTERVAL_MS', 100, A_WEEK_MS, ' (milliseconds)')
  CLEANUP_INTERVAL_MS?: number;

  @IntegerSetting('CLEANUP_COMPLETED_GRACE_MS', 0, A_YEAR_MS, ' (milliseconds)')
  CLEANUP_COMPLETED_GRACE_MS?: number;

  @IsOptional()
  @IsBoolean({ message: 'CLEANUP_PRESERVE_FAILED must be true or false' })
  @Transform(toBoolean)
  CLEANUP_PRESERVE_FAILED?: boolean;

  @IntegerSetting('CLEANUP_FAILED_RETENTION_MS', 0, A_YEAR_MS, ' (milliseconds)')
  CLEANUP_FAILED_RETENTION_MS?: number;

  @IntegerSetting('CLEANUP_ORPHAN_AGE_MS', 0, A_YEAR_MS, ' (milliseconds)')
  CLEANUP_ORPHAN_AGE_MS?: number;

  @IntegerSetting('CLEANUP_STOPPED_AGE_MS', 0, A_YEAR_MS, ' (milliseconds)')
  CLEANUP_STOPPED_AGE_MS?: number;

  @IntegerSetting(
    'CLEANUP_STUCK_AFTER_MS',
    1000,
    A_YEAR_MS,
    ' (milliseconds a container may stay creating, starting, stopping or removing)',
  )
  CLEANUP_STUCK_AFTER_MS?: number;

  @IntegerSetting('CLEANUP_CONCURRENCY', 1, 64, ' (removals at once)')
  CLEANUP_CONCURRENCY?: number;

  @IntegerSetting('ALERT_CPU_PERCENT', 1, 10_000, ' (100 per CPU)')
  ALERT_CPU_PERCENT?: number;

  @IntegerSetting('ALERT_MEMORY_PERCENT', 1, 100)
  ALERT_MEMORY_PERCENT?: number;
}
