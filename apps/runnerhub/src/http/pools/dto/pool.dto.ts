/** A pool's runners by where they are. */
export class PoolRunnersDto {
  /** Idle and running: a job the pool serves takes one at once. */
  ready!: number;
  /** Idle, their containers being made or started. */
  warming!: number;
  /** Handed a job, or given one by GitHub, and not yet ended. */
  serving!: number;
}

/** A warm pool (RUNNER_POOLS): idle runners registered with GitHub and started ahead of demand. */
export class PoolDto {
  name!: string;

  /** Where its runners register: `owner/repo` (RUNNER_SCOPE=repository) or the organisation's login. */
  scope!: string;

  /** Its runners' labels; a job is served by the pool when every label it asks for is one of these. */
  labels!: string[];

  /** Idle runners kept at all times; 0 lets the pool scale to zero. */
  minIdle!: number;

  /** Idle runners kept while the pool is in demand (a job it serves came within idleTimeoutMs). */
  maxIdle!: number;

  /** An idle runner above the target is retired after this long; also how long demand is remembered. */
  idleTimeoutMs!: number;

  image!: string;

  /** The security profile its runners run under (strict, standard, docker). */
  profile!: string;

  runners!: PoolRunnersDto;

  /**
   * Jobs an idle runner of this pool served, since this replica started: handed one, or started on one by GitHub
   * before a hand-out.
   */
  hits!: number;

  /** Jobs the pool serves that found no idle runner and had one made, since this replica started. */
  misses!: number;
}
