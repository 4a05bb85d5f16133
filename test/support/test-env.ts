/** The image scripts/build-test-images.sh makes from the static busybox: no registry is needed or assumed. */
export const TEST_IMAGE = process.env.TEST_IMAGE ?? 'runnerhub-test/busybox:1';

/** The runner stand-ins from the same script: they check their credentials, "run a job" for 3 s and exit. */
export const TEST_RUNNER_IMAGE = process.env.TEST_RUNNER_IMAGE ?? 'runnerhub-test/runner:1';
export const TEST_RUNNER_FAILING_IMAGE = process.env.TEST_RUNNER_FAILING_IMAGE ?? 'runnerhub-test/runner-failing:1';
export const TEST_RUNNER_OOM_IMAGE = process.env.TEST_RUNNER_OOM_IMAGE ?? 'runnerhub-test/runner-oom:1';

/**
 * Every container a test creates carries this label, so that a suite can remove what it made even when it fails. It
 * lies under an allowed caller prefix (CONTAINER_LABEL_PREFIXES): `runnerhub.*` is RunnerHub's own.
 */
export const TEST_LABEL = 'app.runnerhub-test';

/** PostgreSQL for the suites that run on both databases; unset means SQLite only (CI sets it and requires it). */
export const TEST_DATABASE_URL = process.env.TEST_DATABASE_URL;

/**
 * The busybox runner stand-ins above are images of RunnerHub's `custom` family: they read the JIT config from
 * RUNNER_JITCONFIG (or a token from RUNNER_TOKEN), run their CMD, "run one job" and exit with their code, which is
 * what settles a job queued through the API (exit-code semantics). They exist only on the engine, so never pulled.
 * The real-contract stand-ins (scripts/build-runner-standins.sh) are what the GitHub job suites use.
 */
export const CUSTOM_STANDIN_ENV: Readonly<Record<string, string>> = {
  RUNNER_IMAGE_FAMILY: 'custom',
  RUNNER_CUSTOM_JIT_ENV: 'RUNNER_JITCONFIG',
  RUNNER_CUSTOM_TOKEN_ENV: 'RUNNER_TOKEN',
  RUNNER_IMAGE_PULL: 'never',
};
