import { RUNNER_PROFILE_NAMES, type RunnerProfileName } from './app-config';

/**
 * A warm pool: runners registered with GitHub and started ahead of demand, idle until GitHub hands one a job, so a job
 * whose labels the pool covers starts at once instead of waiting for a runner to be made and come online (as
 * actions-runner-controller's `minRunners`, GARM's `min-idle-runners`).
 */
export interface RunnerPoolSetting {
  name: string;
  /** Where its runners register: `owner/repo` under RUNNER_SCOPE=repository, the organisation's login otherwise. */
  scope: string;
  /** Lower case, each once; a job is served by the pool when every label it asks for is one of these. */
  labels: string[];
  /** Idle runners kept at all times; 0 lets the pool scale to zero once its jobs stop coming. */
  minIdle: number;
  /** Idle runners kept while the pool is in demand (a job of its labels came within `idleTimeoutMs`); never more. */
  maxIdle: number;
  /** An idle runner above the pool's target is retired once idle this long; also how long demand is remembered. */
  idleTimeoutMs: number;
  /** Its runners' image; RUNNER_IMAGE when not given. A job asking for another image is not served by the pool. */
  image?: string;
  /** Its runners' security profile; the one its labels choose (RUNNER_PROFILES) when not given. */
  profile?: RunnerProfileName;
}

const POOL_NAME = /^[a-z0-9][a-z0-9-]{0,31}$/;
const LABEL = /^[A-Za-z0-9._-]{1,64}$/;
const REPOSITORY = /^[A-Za-z0-9-]{1,39}\/[A-Za-z0-9._-]{1,100}$/;
const ORGANIZATION = /^[A-Za-z0-9-]{1,39}$/;
const KNOWN_KEYS = [
  'name',
  'repository',
  'organization',
  'labels',
  'minIdle',
  'maxIdle',
  'idleTimeoutMs',
  'image',
  'profile',
];
const DEFAULT_IDLE_TIMEOUT_MS = 300_000;

/**
 * RUNNER_POOLS: a JSON array with one object per pool, e.g.
 * `[{"name": "linux", "repository": "octo/app", "labels": ["self-hosted", "linux"], "minIdle": 2, "maxIdle": 4,
 * "idleTimeoutMs": 300000}]` (`organization` instead of `repository` under RUNNER_SCOPE=organization). Returns the
 * pools, or every problem found, each naming the pool and the field.
 */
export function parseRunnerPools(
  text: string,
  scopeKind: 'repository' | 'organization',
): { pools: RunnerPoolSetting[]; problems: string[] } {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    value = undefined;
  }
  if (!Array.isArray(value)) {
    return {
      pools: [],
      problems: [
        'RUNNER_POOLS must be a JSON array of pools, such as ' +
          '[{"name":"linux","repository":"octo/app","labels":["self-hosted","linux"],"minIdle":2,"maxIdle":4}]',
      ],
    };
  }
  const problems: string[] = [];
  const pools: RunnerPoolSetting[] = [];
  value.forEach((item: unknown, index) => {
    const where = `RUNNER_POOLS[${index}]`;
    if (typeof item !== 'object' || item === null || Array.isArray(item)) {
      problems.push(`${where} must be an object with at least "name", "labels" and "${scopeKind}"`);
      return;
    }
    const checked = checkPool(item as Record<string, unknown>, scopeKind);
    problems.push(...checked.problems.map((problem) => `${where}.${problem}`));
    if (!checked.pool) return;
    if (pools.some((pool) => pool.name === checked.pool!.name)) {
      problems.push(`${where}.name "${checked.pool.name}" is given twice: each pool needs a name of its own`);
      return;
    }
    pools.push(checked.pool);
  });
  return { pools: problems.length > 0 ? [] : pools, problems };
}

function checkPool(
  entry: Record<string, unknown>,
  scopeKind: 'repository' | 'organization',
): { pool: RunnerPoolSetting | null; problems: string[] } {
  const problems: string[] = [];
  for (const key of Object.keys(entry)) {
    if (!KNOWN_KEYS.includes(key)) problems.push(`${key} is not a field of a pool (${KNOWN_KEYS.join(', ')})`);
  }
  const { name, labels, image, profile } = entry;
  if (typeof name !== 'string' || !POOL_NAME.test(name)) {
    problems.push('name must be 1-32 lower-case letters, digits and dashes, starting with a letter or digit');
  }
  const scope = entry[scopeKind];
  const pattern = scopeKind === 'repository' ? REPOSITORY : ORGANIZATION;
  if (typeof scope !== 'string' || !pattern.test(scope)) {
    problems.push(
      scopeKind === 'repository'
        ? 'repository must be the owner/repo its runners register in (RUNNER_SCOPE is repository)'
        : 'organization must be the login of the organisation its runners register in (RUNNER_SCOPE is organization)',
    );
  }
  const other = scopeKind === 'repository' ? 'organization' : 'repository';
  if (entry[other] !== undefined) {
    problems.push(`${other} does not apply: RUNNER_SCOPE is ${scopeKind}, so give "${scopeKind}" instead`);
  }
  if (!Array.isArray(labels) || labels.length === 0 || !labels.every((l) => typeof l === 'string' && LABEL.test(l))) {
    problems.push('labels must be a non-empty array of runner labels, such as ["self-hosted", "linux"]');
  }
  const minIdle = wholeNumber(entry, 'minIdle', 0, 100, 0, problems);
  const maxIdle = wholeNumber(entry, 'maxIdle', 0, 100, Math.max(minIdle, 1), problems);
  if (maxIdle < minIdle) problems.push(`maxIdle (${maxIdle}) must be at least minIdle (${minIdle})`);
  const idleTimeoutMs = wholeNumber(entry, 'idleTimeoutMs', 1_000, 86_400_000, DEFAULT_IDLE_TIMEOUT_MS, problems);
  if (image !== undefined && (typeof image !== 'string' || image.trim() === '')) {
    problems.push('image must be an image reference, such as ghcr.io/actions/actions-runner:2.330.0');
  }
  if (profile !== undefined && !RUNNER_PROFILE_NAMES.includes(profile as RunnerProfileName)) {
    problems.push(`profile must be one of ${RUNNER_PROFILE_NAMES.join(', ')}`);
  }
  if (problems.length > 0) return { pool: null, problems };
  return {
    pool: {
      name: name as string,
      scope: scope as string,
      labels: [...new Set((labels as string[]).map((label) => label.toLowerCase()))],
      minIdle,
      maxIdle,
      idleTimeoutMs,
      ...(image !== undefined ? { image: image as string } : {}),
      ...(profile !== undefined ? { profile: profile as RunnerProfileName } : {}),
    },
    problems,
  };
}

function wholeNumber(
  entry: Record<string, unknown>,
  key: string,
  min: number,
  max: number,
  fallback: number,
  problems: string[],
): number {
  const value = entry[key];
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    problems.push(`${key} must be a whole number from ${min} to ${max}`);
    return fallback;
  }
  return value;
}
