import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { AppConfig } from '@app/common';
import { Client } from 'pg';
import { TEST_DATABASE_URL } from './test-env';

export type TestDatabase = {
  /** `sqlite` or `postgres`, for test titles. */
  label: string;
  settings: AppConfig['database'];
  /** Extra environment for a whole service started on this database. */
  env: Record<string, string>;
  drop(): Promise<void>;
};

/** The databases every persistence-touching suite runs on: SQLite always, PostgreSQL when TEST_DATABASE_URL is set. */
export function testDatabaseKinds(): Array<'sqlite' | 'postgres'> {
  return TEST_DATABASE_URL ? ['sqlite', 'postgres'] : ['sqlite'];
}

/** A fresh, empty database of the given kind, so suites never see each other's rows. */
export async function createTestDatabase(kind: 'sqlite' | 'postgres'): Promise<TestDatabase> {
  if (kind === 'sqlite') {
    const dataDir = mkdtempSync(join(tmpdir(), 'runnerhub-test-'));
    return {
      label: 'sqlite',
      settings: { kind: 'sqlite', dataDir, file: join(dataDir, 'runnerhub.sqlite') },
      env: { RUNNERHUB_DATA_DIR: dataDir },
      drop: () => Promise.resolve(rmSync(dataDir, { recursive: true, force: true })),
    };
  }
  const adminUrl = TEST_DATABASE_URL!;
  const name = `runnerhub_test_${randomBytes(6).toString('hex')}`;
  await withClient(adminUrl, (client) => client.query(`CREATE DATABASE ${name}`));
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  // A data directory of its own all the same: a generated admin key is written there, never into the checkout.
  const dataDir = mkdtempSync(join(tmpdir(), 'runnerhub-test-'));
  return {
    label: 'postgres',
    settings: { kind: 'postgres', url: url.toString() },
    env: { DATABASE_URL: url.toString(), RUNNERHUB_DATA_DIR: dataDir },
    drop: async () => {
      rmSync(dataDir, { recursive: true, force: true });
      await withClient(adminUrl, (client) => client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`));
    },
  };
}

async function withClient<T>(url: string, work: (client: Client) => Promise<T>): Promise<T> {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}
