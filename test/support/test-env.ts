/** The image scripts/build-test-images.sh makes from the static busybox: no registry is needed or assumed. */
export const TEST_IMAGE = process.env.TEST_IMAGE ?? 'runnerhub-test/busybox:1';

/** Every container a test creates carries this label, so that a suite can remove what it made even when it fails. */
export const TEST_LABEL = 'runnerhub.test';

/** PostgreSQL for the suites that run on both databases; unset means SQLite only (CI sets it and requires it). */
export const TEST_DATABASE_URL = process.env.TEST_DATABASE_URL;
