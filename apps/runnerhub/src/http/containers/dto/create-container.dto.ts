import { ApiProperty } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import {
  ArrayMaxSize,
  ArrayMinSize,
  IsArray,
  IsBoolean,
  IsIn,
  IsInt,
  IsNotEmpty,
  IsObject,
  IsOptional,
  IsString,
  Matches,
  Max,
  MaxLength,
  Min,
  ValidateNested,
} from 'class-validator';
import { IsStringRecord } from '../../request-values';

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const ABSOLUTE_PATH = /^\//;

/** What to run. */
export class ContainerConfigDto {
  /**
   * An image already present on the engine, e.g. `ghcr.io/actions/actions-runner:2.336.0`: containers made through
   * this API are not pulled (job runners are, per RUNNER_IMAGE_PULL).
   */
  @IsString()
  @IsNotEmpty()
  @MaxLength(512)
  image!: string;

  /**
   * Environment of the container. Values (runner tokens) go to the engine only: the API shows the names back as
   * `envNames`, never the values.
   */
  @ApiProperty({
    type: 'object',
    additionalProperties: { type: 'string', maxLength: 32_768 },
    maxProperties: 256,
    example: { RUNNER_NAME: 'runner-1' },
  })
  @IsOptional()
  @IsStringRecord({
    maxEntries: 256,
    maxKeyLength: 256,
    maxValueLength: 32_768,
    keyPattern: ENV_NAME,
    keyRule: 'is not a valid variable name (letters, digits and _, not starting with a digit)',
  })
  env?: Record<string, string>;

  /**
   * Labels of your own. Keys must start with one of CONTAINER_LABEL_PREFIXES (default `org.opencontainers.` and
   * `app.`); `runnerhub.*` is RunnerHub's own and cannot be given.
   */
  @ApiProperty({
    type: 'object',
    additionalProperties: { type: 'string', maxLength: 1024 },
    maxProperties: 64,
    example: { 'app.team': 'platform' },
  })
  @IsOptional()
  @IsStringRecord({ maxEntries: 64, maxKeyLength: 256, maxValueLength: 1024 })
  labels?: Record<string, string>;

  /** Argument vector; it replaces the image's command. */
  @IsOptional()
  @IsArray()
  @ArrayMinSize(1)
  @ArrayMaxSize(256)
  @IsString({ each: true })
  @MaxLength(8192, { each: true })
  command?: string[];

  /** User (name or uid[:gid]) the process runs as; with binds, a numeric uid[:gid] other than 0. */
  @IsOptional()
  @IsString()
  @IsNotEmpty()
  @MaxLength(64)
  user?: string;

  /** Absolute working directory inside the container. */
  @IsOptional()
  @IsString()
  @Matches(ABSOLUTE_PATH, { message: 'workingDir must be an absolute path' })
  @MaxLength(1024)
  workingDir?: string;
}

/**
 * Resource limits. The absolute ranges here are checked first; the service then checks each against its configured
 * ceilings (LIMIT_MAX_*).
 */
export class ContainerLimitsDto {
  /** Relative CPU weight; 1024 is one CPU's share (the default). */
  @IsOptional()
  @IsInt()
  @Min(2)
  @Max(262_144)
  cpuShares?: number;

  /** Microseconds of CPU per 100 ms period: 50000 is half a CPU, 200000 two CPUs (default DEFAULT_CPUS). */
  @IsOptional()
  @IsInt()
  @Min(1_000)
  @Max(102_400_000)
  cpuQuota?: number;

  /** Memory limit in MiB, without swap (default DEFAULT_MEMORY_MB); it must exceed the scratch tmpfs sizes. */
  @IsOptional()
  @IsInt()
  @Min(6)
  @Max(4_194_304)
  memoryMB?: number;

  /** Disk quota in GB; only on engines whose storage driver supports it (422 otherwise). */
  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(1_000_000)
  diskGB?: number;

  /** Most processes the container may hold (default DEFAULT_PIDS). */
  @IsOptional()
  @IsInt()
  @Min(16)
  @Max(4_194_304)
  pidsLimit?: number;
}

/** Changes to the locked-down default profile; anything that loosens it must be allowed in configuration. */
export class SecurityOptionsDto {
  /** Read-only root filesystem; the scratch paths (`tmpfs`) are then mounted as tmpfs. */
  @IsOptional()
  @IsBoolean()
  readOnlyRootfs?: boolean;

  /**
   * Scratch paths for a read-only root; default `/tmp` and the working directory. Each is a tmpfs of TMPFS_SIZE_MB,
   * charged to the memory limit.
   */
  @IsOptional()
  @IsArray()
  @ArrayMaxSize(32)
  @IsString({ each: true })
  @MaxLength(1024, { each: true })
  tmpfs?: string[];

  /** `host` opts out of the engine's user-namespace remapping; 403 unless SECURITY_ALLOW_USERNS_HOST is set. */
  @ApiProperty({ enum: ['host'], required: false })
  @IsOptional()
  @IsIn(['host'])
  usernsMode?: 'host';

  /** Capabilities to add back after dropping ALL; each must be in SECURITY_ALLOWED_CAPABILITIES. */
  @IsOptional()
  @IsArray()
  @ArrayMaxSize(64)
  @IsString({ each: true })
  @MaxLength(64, { each: true })
  capAdd?: string[];

  /** Extra security options; each must be in SECURITY_ALLOWED_SECURITY_OPTS. */
  @IsOptional()
  @IsArray()
  @ArrayMaxSize(32)
  @IsString({ each: true })
  @MaxLength(1024, { each: true })
  securityOpt?: string[];

  /**
   * Host bind mounts `host:container` (`:ro` may be added, no other mode): always read-only. Each host path, its
   * symlinks resolved, must exist and lie under SECURITY_ALLOWED_BIND_MOUNTS, and `config.user` must be a numeric
   * non-root uid[:gid].
   */
  @IsOptional()
  @IsArray()
  @ArrayMaxSize(32)
  @IsString({ each: true })
  @MaxLength(4096, { each: true })
  binds?: string[];
}

/** Where the container may go among the fleet's engines; left out, any active engine with room (PLACEMENT). */
export class ContainerPlacementDto {
  /** This engine only (`GET /api/engines`): 404 when there is none such, 409 when it is not active. */
  @IsOptional()
  @IsString()
  @Matches(/^[a-z0-9][a-z0-9-]{0,62}$/, { message: 'placement.engine must be an engine name such as a or gpu-1' })
  engine?: string;

  /** Engine labels the engine must carry (such as `gpu`, `arm64`). */
  @IsOptional()
  @IsArray()
  @ArrayMaxSize(16)
  @Matches(/^[a-z0-9][a-z0-9._-]{0,63}$/, {
    each: true,
    message: 'placement.labels must be lower-case labels such as gpu',
  })
  labels?: string[];
}

/** A runner container to create and (unless `start` is false) start. */
export class CreateContainerDto {
  /** A runner tag of your own; never a runner RunnerHub manages (409). */
  @IsOptional()
  @IsString()
  @IsNotEmpty()
  @MaxLength(128)
  runnerId?: string;

  /** A job tag of your own; never a job RunnerHub runs (409). */
  @IsOptional()
  @IsString()
  @IsNotEmpty()
  @MaxLength(128)
  jobId?: string;

  /** `owner/name` of the job's repository. */
  @IsOptional()
  @IsString()
  @IsNotEmpty()
  @MaxLength(256)
  repository?: string;

  @IsObject()
  @ValidateNested()
  @Type(() => ContainerConfigDto)
  config!: ContainerConfigDto;

  @IsOptional()
  @IsObject()
  @ValidateNested()
  @Type(() => ContainerLimitsDto)
  limits?: ContainerLimitsDto;

  @IsOptional()
  @IsObject()
  @ValidateNested()
  @Type(() => SecurityOptionsDto)
  security?: SecurityOptionsDto;

  /** Start the container once it is created (default true); false leaves it `created`. */
  @IsOptional()
  @IsBoolean()
  start?: boolean;

  @IsOptional()
  @IsObject()
  @ValidateNested()
  @Type(() => ContainerPlacementDto)
  placement?: ContainerPlacementDto;
}
