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

const MS_IN_A_WEEK = 7 * 24 * 3600 * 1000;
const API_KEYS_PATTERN = /^[A-Za-z0-9._~+/=-]{16,}:(viewer|operator|admin)(,[A-Za-z0-9._~+/=-]{16,}:(viewer|operator|admin))*$/;

/**
 * The environment RunnerHub reads, with the rule each variable must follow. Validated once at start; nothing else in
 * the code base reads process.env. Messages name the variable so that a bad deployment says what to fix.
 */
export class EnvironmentDto {
  @IsOptional()
  @IsIn(['development', 'production', 'test'], { message: 'NODE_ENV must be one of development, production, test' })
  @Transform(blankToUndefined)
  NODE_ENV?: string;

  @IsOptional()
  @IsInt({ message: 'PORT must be an integer from 0 to 65535' })
  @Min(0, { message: 'PORT must be an integer from 0 to 65535' })
  @Max(65535, { message: 'PORT must be an integer from 0 to 65535' })
  @Transform(toInteger)
  PORT?: number;

  @IsOptional()
  @IsIn(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], {
    message: 'LOG_LEVEL must be one of fatal, error, warn, info, debug, trace, silent',
  })
  @Transform(blankToUndefined)
  LOG_LEVEL?: string;

  @IsOptional()
  @IsIn(['json', 'pretty'], { message: 'LOG_FORMAT must be json or pretty' })
  @Transform(blankToUndefined)
  LOG_FORMAT?: string;

  @IsOptional()
  @IsUrl(
    { protocols: ['postgres', 'postgresql'], require_tld: false, require_protocol: true },
    { message: 'DATABASE_URL must be a postgres:// or postgresql:// URL, for example postgres://user:pass@host:5432/db' },
  )
  @Transform(blankToUndefined)
  DATABASE_URL?: string;

  @IsOptional()
  @IsString()
  @IsNotEmpty({ message: 'RUNNERHUB_DATA_DIR must be a directory path' })
  @Transform(blankToUndefined)
  RUNNERHUB_DATA_DIR?: string;

  @IsOptional()
  @Matches(/^(unix:\/\/\/.+|(tcp|http|https):\/\/[^/:]+(:\d{1,5})?\/?)$/, {
    message: 'DOCKER_HOST must be unix:///path/to/docker.sock or tcp://host:port (as the docker CLI reads it)',
  })
  @Transform(blankToUndefined)
  DOCKER_HOST?: string;

  @IsOptional()
  @Matches(API_KEYS_PATTERN, {
    message:
      'RUNNERHUB_API_KEYS must be a comma-separated list of key:role, each key at least 16 characters of ' +
      '[A-Za-z0-9._~+/=-] and each role viewer, operator or admin',
  })
  @Transform(blankToUndefined)
  RUNNERHUB_API_KEYS?: string;

  @IsOptional()
  @Matches(/^[a-z0-9][a-z0-9._\-/:@]*$/i, { message: 'RUNNER_IMAGE must be an image reference such as owner/image:tag' })
  @Transform(blankToUndefined)
  RUNNER_IMAGE?: string;

  @IsOptional()
  @IsInt({ message: 'MAX_CONCURRENT_CONTAINERS must be an integer from 1 to 1000' })
  @Min(1, { message: 'MAX_CONCURRENT_CONTAINERS must be an integer from 1 to 1000' })
  @Max(1000, { message: 'MAX_CONCURRENT_CONTAINERS must be an integer from 1 to 1000' })
  @Transform(toInteger)
  MAX_CONCURRENT_CONTAINERS?: number;

  @IsOptional()
  @IsUrl(
    { protocols: ['http', 'https'], require_tld: false, require_protocol: true },
    { message: 'GITHUB_API_URL must be an http(s) URL, for example https://api.github.com or https://ghe.example/api/v3' },
  )
  @Transform(blankToUndefined)
  GITHUB_API_URL?: string;

  @IsOptional()
  @IsString()
  @Transform(blankToUndefined)
  GITHUB_TOKEN?: string;

  @ValidateIf((env: EnvironmentDto) => env.GITHUB_APP_PRIVATE_KEY !== undefined || env.GITHUB_APP_INSTALLATION_ID !== undefined || env.GITHUB_APP_ID !== undefined)
  @IsInt({ message: 'GITHUB_APP_ID must be the numeric id of the GitHub App (set with its private key and installation id)' })
  @Min(1, { message: 'GITHUB_APP_ID must be a positive integer' })
  @Transform(toInteger)
  GITHUB_APP_ID?: number;

  @ValidateIf((env: EnvironmentDto) => env.GITHUB_APP_ID !== undefined || env.GITHUB_APP_INSTALLATION_ID !== undefined || env.GITHUB_APP_PRIVATE_KEY !== undefined)
  @Matches(/-----BEGIN [A-Z ]*PRIVATE KEY-----/, {
    message: 'GITHUB_APP_PRIVATE_KEY must be the PEM private key of the GitHub App (set with its id and installation id)',
  })
  @Transform(blankToUndefined)
  GITHUB_APP_PRIVATE_KEY?: string;

  @ValidateIf((env: EnvironmentDto) => env.GITHUB_APP_ID !== undefined || env.GITHUB_APP_PRIVATE_KEY !== undefined || env.GITHUB_APP_INSTALLATION_ID !== undefined)
  @IsInt({ message: 'GITHUB_APP_INSTALLATION_ID must be the numeric installation id (set with the app id and key)' })
  @Min(1, { message: 'GITHUB_APP_INSTALLATION_ID must be a positive integer' })
  @Transform(toInteger)
  GITHUB_APP_INSTALLATION_ID?: number;

  @IsOptional()
  @IsString()
  @Transform(blankToUndefined)
  GITHUB_WEBHOOK_SECRET?: string;

  @IsOptional()
  @IsInt({ message: 'STATS_INTERVAL_MS must be an integer number of milliseconds from 100 to one week' })
  @Min(100, { message: 'STATS_INTERVAL_MS must be at least 100 ms' })
  @Max(MS_IN_A_WEEK, { message: 'STATS_INTERVAL_MS must be at most one week' })
  @Transform(toInteger)
  STATS_INTERVAL_MS?: number;

  @IsOptional()
  @IsInt({ message: 'HEALTH_INTERVAL_MS must be an integer number of milliseconds from 100 to one week' })
  @Min(100, { message: 'HEALTH_INTERVAL_MS must be at least 100 ms' })
  @Max(MS_IN_A_WEEK, { message: 'HEALTH_INTERVAL_MS must be at most one week' })
  @Transform(toInteger)
  HEALTH_INTERVAL_MS?: number;

  @IsOptional()
  @IsInt({ message: 'CLEANUP_INTERVAL_MS must be an integer number of milliseconds from 100 to one week' })
  @Min(100, { message: 'CLEANUP_INTERVAL_MS must be at least 100 ms' })
  @Max(MS_IN_A_WEEK, { message: 'CLEANUP_INTERVAL_MS must be at most one week' })
  @Transform(toInteger)
  CLEANUP_INTERVAL_MS?: number;

  @IsOptional()
  @IsInt({ message: 'CLEANUP_COMPLETED_GRACE_MS must be a non-negative integer number of milliseconds' })
  @Min(0, { message: 'CLEANUP_COMPLETED_GRACE_MS must be a non-negative integer number of milliseconds' })
  @Transform(toInteger)
  CLEANUP_COMPLETED_GRACE_MS?: number;

  @IsOptional()
  @IsBoolean({ message: 'CLEANUP_PRESERVE_FAILED must be true or false' })
  @Transform(toBoolean)
  CLEANUP_PRESERVE_FAILED?: boolean;

  @IsOptional()
  @IsInt({ message: 'CLEANUP_FAILED_RETENTION_MS must be a non-negative integer number of milliseconds' })
  @Min(0, { message: 'CLEANUP_FAILED_RETENTION_MS must be a non-negative integer number of milliseconds' })
  @Transform(toInteger)
  CLEANUP_FAILED_RETENTION_MS?: number;

  @IsOptional()
  @IsInt({ message: 'CLEANUP_ORPHAN_AGE_MS must be a non-negative integer number of milliseconds' })
  @Min(0, { message: 'CLEANUP_ORPHAN_AGE_MS must be a non-negative integer number of milliseconds' })
  @Transform(toInteger)
  CLEANUP_ORPHAN_AGE_MS?: number;

  @IsOptional()
  @IsInt({ message: 'CLEANUP_STOPPED_AGE_MS must be a non-negative integer number of milliseconds' })
  @Min(0, { message: 'CLEANUP_STOPPED_AGE_MS must be a non-negative integer number of milliseconds' })
  @Transform(toInteger)
  CLEANUP_STOPPED_AGE_MS?: number;

  @IsOptional()
  @IsInt({ message: 'ALERT_CPU_PERCENT must be an integer from 1 to 10000 (100 per CPU)' })
  @Min(1, { message: 'ALERT_CPU_PERCENT must be an integer from 1 to 10000 (100 per CPU)' })
  @Max(10000, { message: 'ALERT_CPU_PERCENT must be an integer from 1 to 10000 (100 per CPU)' })
  @Transform(toInteger)
  ALERT_CPU_PERCENT?: number;

  @IsOptional()
  @IsInt({ message: 'ALERT_MEMORY_PERCENT must be an integer from 1 to 100' })
  @Min(1, { message: 'ALERT_MEMORY_PERCENT must be an integer from 1 to 100' })
  @Max(100, { message: 'ALERT_MEMORY_PERCENT must be an integer from 1 to 100' })
  @Transform(toInteger)
  ALERT_MEMORY_PERCENT?: number;
}
