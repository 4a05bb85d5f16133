import { ApiProperty } from '@nestjs/swagger';

/** Capacity figures; null where none is known (or, for maxContainers, none is set: only MAX_CONCURRENT_CONTAINERS). */
export class EngineCapacityFiguresDto {
  /** MiB. */
  memoryMb!: number | null;
  cpus!: number | null;
  maxContainers!: number | null;
}

/** What the engine's own `info` said (MemTotal, NCPU) when it last answered; null until it has. */
export class EngineInfoCapacityDto {
  /** MiB. */
  memoryMb!: number | null;
  cpus!: number | null;
}

/** What may be placed on the engine. */
export class EngineCapacityDto {
  /** As the operator gave it (DOCKER_ENGINES or the API); null: not given. */
  given!: EngineCapacityFiguresDto;
  fromInfo!: EngineInfoCapacityDto;
  /**
   * What placement holds the engine to (null: no limit): the given figures. Memory limits and CPU quotas are ceilings
   * the kernel enforces, not reservations, so what `info` says (fromInfo) is shown but not enforced.
   */
  effective!: EngineCapacityFiguresDto;
}

/**
 * What sits on the engine now, counted as placement counts it: its live containers with their limits, and each active
 * job placed on it whose container is not live yet, at what its runner will take (RUNNER_MEMORY_MB, DEFAULT_CPUS).
 */
export class EngineLoadDto {
  containers!: number;
  /** The memory limits of those containers, MiB. */
  memoryMb!: number;
  /** Their CPU limits. */
  cpus!: number;
}

/** One Docker engine of the fleet. */
export class EngineDto {
  name!: string;

  /** In DOCKER_HOST notation: `unix:///var/run/docker.sock`, `tcp://10.0.0.2:2375`, `https://10.0.0.2:2376` (TLS). */
  endpoint!: string;

  /** With TLS: the directory holding ca.pem, cert.pem and key.pem (never their contents). */
  tlsCertPath!: string | null;

  /**
   * `config`: from DOCKER_ENGINES (or DOCKER_HOST, as `default`), written again at every start; only its state can be
   * changed through the API. `api`: added through POST /api/engines.
   */
  @ApiProperty({ enum: ['config', 'api'] })
  source!: 'config' | 'api';

  /** A job is placed only on an engine carrying every label it asks for beyond the runner's own. */
  labels!: string[];

  /** The network its runner containers join; null: RUNNER_NETWORK. */
  network!: string | null;

  /**
   * `active` takes new containers; `draining` takes none while its containers finish, then becomes `drained`;
   * `unreachable` has not answered for ENGINE_UNREACHABLE_AFTER_MS and becomes `active` again when it answers.
   */
  @ApiProperty({ enum: ['active', 'draining', 'drained', 'unreachable'] })
  state!: 'active' | 'draining' | 'drained' | 'unreachable';

  /** Why it is in its state: who drained it, the engine's last error. */
  stateReason!: string | null;

  stateChangedAt!: string;

  /** When it last answered a ping; null if it never has. */
  lastSeenAt!: string | null;

  capacity!: EngineCapacityDto;

  load!: EngineLoadDto;

  createdAt!: string;
}
