import type { DockerEngine } from '@app/docker';
import { randomBytes } from 'node:crypto';
import { TEST_LABEL } from './test-env';

/** Label telling apart two test runs of the same suite on one engine (two engineers, or CI jobs, at once). */
export const TEST_RUN_LABEL = 'app.runnerhub-test-run';
export const TEST_RUN_ID = `${process.pid}-${randomBytes(3).toString('hex')}`;

/** The labels every container of the suite carries in this run: app.runnerhub-test=<suite> plus this run's id. */
export function testLabels(suite: string): Record<string, string> {
  return { [TEST_LABEL]: suite, [TEST_RUN_LABEL]: TEST_RUN_ID };
}

/**
 * Force-removes every container this run created for the suite, whatever state the test left it in. Called from
 * afterEach/afterAll so that a failing test leaves nothing behind; another run's containers of the same suite are
 * left alone, so concurrent runs do not remove each other's containers mid-test.
 */
export async function removeSuiteContainers(engine: DockerEngine, suite: string): Promise<number> {
  const containers = await engine.listByLabel(testLabels(suite), { all: true });
  await Promise.all(containers.map((c) => engine.remove(c.id, { force: true, volumes: true })));
  return containers.length;
}
