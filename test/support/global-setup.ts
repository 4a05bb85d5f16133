import { execFileSync } from 'node:child_process';
import { TEST_IMAGE, TEST_RUNNER_FAILING_IMAGE, TEST_RUNNER_IMAGE, TEST_RUNNER_OOM_IMAGE } from './test-env';

/**
 * The integration suites run against the real engine and a real database. Fail at once, with the command that fixes
 * it, rather than let every test time out on its own.
 */
export default function globalSetup(): void {
  const images = [TEST_IMAGE, TEST_RUNNER_IMAGE, TEST_RUNNER_FAILING_IMAGE, TEST_RUNNER_OOM_IMAGE];
  try {
    execFileSync('docker', ['image', 'inspect', ...images], { stdio: 'ignore', timeout: 15_000 });
  } catch {
    throw new Error(
      `The Docker engine does not answer or lacks a test image (${images.join(', ')}). ` +
        'Run `npm run engine:up && npm run images:test` (as root on a fresh machine) and try again.',
    );
  }
  if (process.env.REQUIRE_POSTGRES === 'true' && !process.env.TEST_DATABASE_URL) {
    throw new Error('REQUIRE_POSTGRES=true but TEST_DATABASE_URL is not set: the PostgreSQL suites would be skipped.');
  }
}
