import { randomBytes } from 'node:crypto';
import { INestApplication } from '@nestjs/common';
import { createRunnerHubClient, RunnerHubClient } from '../client/client';
import { startTestApp } from './app';
import { createTestDatabase, TestDatabase } from './databases';
import { removeLabelled } from './engine-cli';
import { TEST_LABEL } from './test-env';

/** API keys of the three roles; each is at least 16 characters, as RUNNERHUB_API_KEYS requires. */
export const API_KEYS = {
  admin: 'api-suite-admin-key-0123456789',
  operator: 'api-suite-operator-key-0123456789',
  viewer: 'api-suite-viewer-key-0123456789',
} as const;

/** A second label, unique to one suite on one database, so that its afterAll removes exactly what it made. */
const RUN_LABEL = 'app.runnerhub-test.run';

export interface ApiSuite {
  database: TestDatabase;
  app: INestApplication;
  baseUrl: string;
  admin: RunnerHubClient;
  operator: RunnerHubClient;
  viewer: RunnerHubClient;
  /** Labels every container the suite creates must carry: `app.runnerhub-test=api` plus this run's own. */
  labels: Record<string, string>;
  /** A short random tag for job ids, repositories and runner ids, so filters only ever match this run's rows. */
  run: string;
  /** The raw text of every response the clients received, to check what never leaves the service. */
  responses: string[];
  close(): Promise<void>;
}

/**
 * The whole service on a fresh database with one key of each role, and a generated client per role. Containers are
 * removed by label in close(), whatever the tests did.
 */
export async function startApiSuite(
  kind: 'sqlite' | 'postgres',
  suite: string,
  env: Record<string, string> = {},
): Promise<ApiSuite> {
  const run = `${suite}-${kind}-${randomBytes(3).toString('hex')}`;
  const labels = { [TEST_LABEL]: 'api', [RUN_LABEL]: run };
  const database = await createTestDatabase(kind);
  let app: INestApplication | undefined;
  try {
    const started = await startTestApp(database, {
      RUNNERHUB_API_KEYS: `${API_KEYS.admin}:admin,${API_KEYS.operator}:operator,${API_KEYS.viewer}:viewer`,
      ...env,
    });
    app = started.app;
    const responses: string[] = [];
    const client = (key: string) => {
      const created = createRunnerHubClient(started.baseUrl, key);
      created.use({
        async onResponse({ response }) {
          responses.push(await response.clone().text());
          return response;
        },
      });
      return created;
    };
    return {
      database,
      app,
      baseUrl: started.baseUrl,
      admin: client(API_KEYS.admin),
      operator: client(API_KEYS.operator),
      viewer: client(API_KEYS.viewer),
      labels,
      run,
      responses,
      close: () => closeSuite(app, database, run),
    };
  } catch (error) {
    await closeSuite(app, database, run);
    throw error;
  }
}

async function closeSuite(app: INestApplication | undefined, database: TestDatabase, run: string): Promise<void> {
  try {
    await app?.close();
  } finally {
    removeLabelled(`${RUN_LABEL}=${run}`);
    await database.drop();
  }
}

/** The error envelope every failure answers with. */
export function expectErrorEnvelope(
  body: unknown,
  code: string,
): { message: string; details: Record<string, unknown> } {
  expect(body).toEqual({
    success: false,
    error: { code, message: expect.any(String), details: expect.any(Object) },
  });
  return (body as { error: { message: string; details: Record<string, unknown> } }).error;
}
