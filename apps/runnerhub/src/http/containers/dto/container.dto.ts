import { ContainerState } from '@app/common';
import { ApiProperty } from '@nestjs/swagger';
import { ResourceUsageDto } from './resource-usage.dto';

/** The limits as applied: defaults filled in; null where the container is unlimited. */
export class AppliedLimitsDto {
  /** Relative CPU weight (1024 = one CPU's share). */
  cpuShares!: number;
  /** Microseconds of CPU per 100 ms period; null when unlimited. */
  cpuQuota!: number | null;
  /** MiB; null when unlimited. */
  memoryMB!: number | null;
  /** GB; null when unlimited. */
  diskGB!: number | null;
  pidsLimit!: number;
}

/** The security profile as applied to the container. */
export class SecurityProfileDto {
  /**
   * The named profile: `strict` (no capabilities, no-new-privileges; every container made through the API), or for a
   * job's runner the one RUNNER_PROFILES chose: `standard` (Docker's default capabilities, sudo works) or `docker`
   * (standard plus a Docker daemon of its own).
   */
  @ApiProperty({ enum: ['strict', 'standard', 'docker'] })
  profile!: 'strict' | 'standard' | 'docker';
  /** Always `ALL`. */
  capDrop!: string[];
  capAdd!: string[];
  /** Includes `no-new-privileges` under the `strict` profile. */
  securityOpt!: string[];
  /** Never true. */
  @ApiProperty({ enum: [false] })
  privileged!: false;
  readOnlyRootfs!: boolean;
  /** Scratch paths mounted as tmpfs (only with a read-only root). */
  tmpfs!: string[];
  /** `host` when the container opted out of user-namespace remapping. */
  @ApiProperty({ enum: ['host'], nullable: true, type: String })
  usernsMode!: 'host' | null;
  /** The container's network (`bridge`, `none` or a user-defined network). */
  network!: string;
  binds!: string[];
}

/** A runner container as RunnerHub knows it. Env values are never shown: only their names. */
export class ContainerDto {
  /** RunnerHub's id (a UUID). */
  @ApiProperty({ format: 'uuid' })
  id!: string;
  /** `runner-<12 hex>`, also the name on the engine. */
  name!: string;
  /** The engine's container id; null until the engine has made it. */
  engineId!: string | null;
  /** The engine of the fleet it lives on (`GET /api/engines`); `default` when DOCKER_HOST is the only one. */
  engineName!: string;
  /**
   * Why it was placed there, as the placement saw it at creation: `engine b: 3.1 GiB free of 8, 2 of 10 slots
   * (spread)`; null for a job's runner (its job shows it) and for containers older than the fleet.
   */
  placement!: string | null;
  @ApiProperty({ enum: ContainerState, enumName: 'ContainerState' })
  state!: ContainerState;
  runnerId!: string | null;
  jobId!: string | null;
  repository!: string | null;
  image!: string;
  /** The image's digest (sha256:...) as its registry served it, for a runner whose image RunnerHub pulled; else null. */
  imageDigest!: string | null;
  /** The command the container runs; null for the image's own. */
  command!: string[] | null;
  /** The entrypoint it runs the command with; null for the image's own. */
  entrypoint!: string[] | null;
  user!: string | null;
  workingDir!: string | null;
  /** Names of the env variables given at creation; their values are never stored or shown. */
  envNames!: string[];
  /** The labels given at creation (RunnerHub's own `runnerhub.*` labels are not repeated here). */
  @ApiProperty({ type: 'object', additionalProperties: { type: 'string' } })
  labels!: Record<string, string>;
  limits!: AppliedLimitsDto;
  security!: SecurityProfileDto;
  /** The exit code of the last run; null until the container has stopped once. */
  exitCode!: number | null;
  /** Why the container is in its state (an engine error, `oom-killed`...). */
  stateReason!: string | null;
  createdAt!: Date;
  updatedAt!: Date;
  stateChangedAt!: Date;
  /** The latest resource sample; null until monitoring has sampled this container. */
  @ApiProperty({ type: ResourceUsageDto, nullable: true })
  resourceUsage!: ResourceUsageDto | null;
  /** What the image's own HEALTHCHECK reports (`starting`, `healthy`, `unhealthy`); null when it has none. */
  @ApiProperty({ type: String, nullable: true, example: 'healthy' })
  health!: string | null;
}
