import { randomUUID } from 'node:crypto';
import { INestApplication } from '@nestjs/common';
import { Answer, call, documentedOperations, errorOf, ROLE_KEYS, ROLE_KEYS_SETTING, RoleName } from '../support/access';
import { startTestApp } from '../support/app';
import { createTestDatabase, TestDatabase, testDatabaseKinds } from '../support/databases';

const ROLES: RoleName[] = ['viewer', 'operator', 'admin'];

interface Operation {
  method: string;
  /** As in the OpenAPI document; `{id}` is filled with an id no container has, so nothing reaches the engine. */
  path: string;
  query?: string;
  body?: unknown;
  needs: RoleName;
  /** A stream: only the status is read, then the connection is dropped. */
  stream?: boolean;
}

/** Every operation of the API that needs a key, with the least role that may call it. */
const OPERATIONS: Operation[] = [
  { method: 'GET', path: '/api/containers', needs: 'viewer' },
  { method: 'GET', path: '/api/containers/usage/summary', needs: 'viewer' },
  { method: 'GET', path: '/api/containers/{id}', needs: 'viewer' },
  { method: 'GET', path: '/api/containers/{id}/stats', needs: 'viewer' },
  { method: 'GET', path: '/api/containers/{id}/logs', needs: 'viewer' },
  { method: 'GET', path: '/api/containers/{id}/events', needs: 'viewer' },
  { method: 'GET', path: '/api/events', needs: 'viewer', stream: true },
  { method: 'GET', path: '/api/audit', needs: 'operator' },
  { method: 'GET', path: '/api/jobs', needs: 'viewer' },
  { method: 'GET', path: '/api/jobs/{id}', needs: 'viewer' },
  // An empty job is refused by validation (400), so nothing is queued.
  { method: 'POST', path: '/api/jobs', body: {}, needs: 'operator' },
  { method: 'POST', path: '/api/jobs/{id}/cancel', needs: 'operator' },
  { method: 'GET', path: '/api/cleanup/preview', needs: 'operator' },
  { method: 'POST', path: '/api/cleanup/run', needs: 'operator' },
  // An empty create body is refused by validation (400), so nothing is created.
  { method: 'POST', path: '/api/containers', body: {}, needs: 'operator' },
  { method: 'POST', path: '/api/containers/{id}/start', needs: 'operator' },
  { method: 'POST', path: '/api/containers/{id}/stop', needs: 'operator' },
  { method: 'DELETE', path: '/api/containers/{id}', needs: 'operator' },
  { method: 'POST', path: '/api/containers/{id}/exec', body: { command: ['true'] }, needs: 'admin' },
  { method: 'DELETE', path: '/api/containers/{id}', query: '?force=true', needs: 'admin' },
];

const rank = (role: RoleName) => ROLES.indexOf(role);
const label = (operation: Operation) => `${operation.method} ${operation.path}${operation.query ?? ''}`;

describe.each(testDatabaseKinds())('the role of every operation on %s', (kind) => {
  let database: TestDatabase;
  let app: INestApplication;
  let baseUrl: string;
  let documented: Set<string>;

  beforeAll(async () => {
    database = await createTestDatabase(kind);
    ({ app, baseUrl } = await startTestApp(database, {
      RUNNERHUB_API_KEYS: ROLE_KEYS_SETTING,
      RATE_LIMIT_MUTATIONS_PER_MINUTE: '100000',
    }));
    documented = await documentedOperations(baseUrl);
  });

  afterAll(async () => {
    await app?.close();
    await database?.drop();
  });

  async function send(operation: Operation, key?: string): Promise<Answer> {
    const path = operation.path.replace('{id}', randomUUID()) + (operation.query ?? '');
    if (!operation.stream) return call(baseUrl, operation.method, path, { key, body: operation.body });
    const abort = new AbortController();
    const response = await fetch(`${baseUrl}${path}`, {
      headers: key === undefined ? {} : { authorization: `Bearer ${key}` },
      signal: abort.signal,
    });
    const body: unknown = response.ok ? undefined : await response.json();
    abort.abort();
    return { status: response.status, headers: response.headers, body };
  }

  it('needs a key for every operation, and refuses each role below the one an operation needs', async () => {
    const skipped = OPERATIONS.filter((operation) => !documented.has(`${operation.method} ${operation.path}`));
    if (skipped.length > 0) {
      // A route that does not exist answers 404 before any guard runs: nothing about roles can be learnt from it.
      console.warn(`skipped, not in the OpenAPI document yet: ${skipped.map(label).join(', ')}`);
    }
    const checked = OPERATIONS.filter((operation) => !skipped.includes(operation));
    expect(checked.map(label)).toContain('GET /api/audit');

    const outcomes: string[] = [];
    const expected: string[] = [];
    for (const operation of checked) {
      const anonymous = await send(operation);
      outcomes.push(`${label(operation)} without a key: ${anonymous.status}`);
      expected.push(`${label(operation)} without a key: 401`);
      for (const role of ROLES) {
        const answer = await send(operation, ROLE_KEYS[role]);
        const allowed = rank(role) >= rank(operation.needs);
        // At or above the role anything but 401/403 is right (an unknown id is a 404, an empty body a 400).
        const seen = answer.status === 401 || answer.status === 403 ? answer.status : 'let through';
        outcomes.push(`${label(operation)} as ${role}: ${seen}`);
        expected.push(`${label(operation)} as ${role}: ${allowed ? 'let through' : 403}`);
        if (!allowed) {
          expect(errorOf(answer).code).toBe('FORBIDDEN');
          // The message names a role that would do and the caller's own.
          const higher = ROLES.filter((other) => rank(other) > rank(role)).join('|');
          expect(errorOf(answer).message).toMatch(new RegExp(`\\b(${higher})\\b role.*has the ${role} role`));
        }
      }
    }
    expect(outcomes).toEqual(expected);
  });
});
