import { INestApplication } from '@nestjs/common';

type Indicator = { status: 'up' | 'down' };
type HealthBody = {
  status: string;
  info?: Record<string, Indicator>;
  error?: Record<string, Indicator>;
  details: Record<string, Indicator>;
};
type OpenApi = { paths: Record<string, Record<string, { operationId?: string }>> };
import { startTestApp } from '../support/app';
import { createTestDatabase, TestDatabase, testDatabaseKinds } from '../support/databases';

describe.each(testDatabaseKinds())('health on %s', (kind) => {
  let database: TestDatabase;
  let app: INestApplication;
  let baseUrl: string;

  beforeAll(async () => {
    database = await createTestDatabase(kind);
    ({ app, baseUrl } = await startTestApp(database));
  });

  afterAll(async () => {
    await app?.close();
    await database?.drop();
  });

  it('answers liveness without touching the engine or the database', async () => {
    const response = await fetch(`${baseUrl}/health`);
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ status: 'ok' });
  });

  it('is ready when the real engine and the database answer, naming each part with its status only', async () => {
    const response = await fetch(`${baseUrl}/health/ready`);
    const body = await response.json();
    expect(response.status).toBe(200);
    const parts = { database: { status: 'up' }, docker: { status: 'up' } };
    expect(body).toEqual({ status: 'ok', info: parts, error: {}, details: parts });
  });

  it('gives every request an id, echoing a sane one the caller sent', async () => {
    const mine = await fetch(`${baseUrl}/health`, { headers: { 'x-request-id': 'trace-abc.123' } });
    expect(mine.headers.get('x-request-id')).toBe('trace-abc.123');
    const generated = await fetch(`${baseUrl}/health`, { headers: { 'x-request-id': 'bad id with spaces\n' } });
    expect(generated.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('serves the OpenAPI document and Swagger UI', async () => {
    const doc = await fetch(`${baseUrl}/api/docs-json`);
    expect(doc.status).toBe(200);
    const openapi = (await doc.json()) as OpenApi;
    expect(openapi.paths['/health/ready'].get.operationId).toBe('getReadiness');
    const ui = await fetch(`${baseUrl}/api/docs`);
    expect(ui.status).toBe(200);
    expect(await ui.text()).toContain('swagger-ui');
  });
});

describe('readiness when the engine is away (sqlite)', () => {
  let database: TestDatabase;
  let app: INestApplication;
  let baseUrl: string;

  beforeAll(async () => {
    database = await createTestDatabase('sqlite');
    ({ app, baseUrl } = await startTestApp(database, { DOCKER_HOST: 'unix:///tmp/runnerhub-no-such-engine.sock' }));
  });

  afterAll(async () => {
    await app?.close();
    await database?.drop();
  });

  it('answers 503 naming the engine as the part that is down, while liveness stays 200', async () => {
    const ready = await fetch(`${baseUrl}/health/ready`);
    expect(ready.status).toBe(503);
    const body = (await ready.json()) as HealthBody;
    expect(body.error).toEqual({ docker: { status: 'down' } });
    expect(body.details.database).toEqual({ status: 'up' });
    expect((await fetch(`${baseUrl}/health`)).status).toBe(200);
  });
});
