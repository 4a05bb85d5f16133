import { INestApplication } from '@nestjs/common';
import fc from 'fast-check';
import { startTestApp } from '../support/app';
import { createTestDatabase, TestDatabase } from '../support/databases';
import { docker } from '../support/engine-cli';
import { TEST_LABEL } from '../support/test-env';

const REQUESTS = Number(process.env.FUZZ_REQUESTS ?? 5_000);
const CONCURRENCY = 8;
const ADMIN_KEY = 'fuzz-admin-key-0123456789abcdef';
const SEED = Number(process.env.FUZZ_SEED ?? 20261129);

type OpenApi = { paths: Record<string, Record<string, unknown>> };
type FuzzRequest = { method: string; path: string; headers: Record<string, string>; body?: string };

/** Values that have broken JSON APIs before: wrong types, extremes, prototype keys, deep nesting, odd text. */
const hostileValue: fc.Arbitrary<unknown> = fc.oneof(
  fc.anything({ maxDepth: 3 }),
  fc.constantFrom(
    null,
    -1,
    0,
    1e308,
    -1e308,
    2 ** 53,
    Number.MAX_SAFE_INTEGER,
    '',
    ' ',
    '0',
    'true',
    '../../etc/passwd',
  ),
  fc.constantFrom({ __proto__: { polluted: true } }, { constructor: { prototype: { polluted: true } } }),
  fc.string({ unit: 'grapheme', maxLength: 64 }),
  fc.string({ minLength: 5_000, maxLength: 20_000 }),
  fc.array(fc.string(), { maxLength: 300 }),
);

/** A body that is almost right: a plausible container request with one part swapped for something hostile. */
const mutatedCreateBody = fc
  .record({
    key: fc.constantFrom('runnerId', 'jobId', 'repository', 'config', 'limits', 'security', 'start', 'unknownField'),
    inner: fc.constantFrom(
      'image',
      'env',
      'labels',
      'command',
      'user',
      'workingDir',
      'memoryMB',
      'cpuShares',
      'pidsLimit',
      'diskGB',
      'capAdd',
      'binds',
    ),
    value: hostileValue,
  })
  .map(({ key, inner, value }) => {
    const body: Record<string, unknown> = {
      jobId: 'fuzz-job',
      config: { image: 'runnerhub-test/does-not-exist:fuzz', command: ['true'], labels: { [TEST_LABEL]: 'fuzz' } },
      limits: { memoryMB: 64 },
      start: false,
    };
    if (key === 'config' || key === 'limits' || key === 'security') {
      body[key] = { ...(body[key] as object), [inner]: value };
    } else {
      body[key] = value;
    }
    return body;
  });

const pathParam = fc.oneof(
  fc.uuid(),
  fc.constantFrom('', '%00', '..', '%2e%2e%2f', 'usage', 'summary', "'; DROP TABLE containers; --", 'a'.repeat(2_000)),
  fc.string({ maxLength: 40 }).map(encodeURIComponent),
);

function requestsFrom(openapi: OpenApi): fc.Arbitrary<FuzzRequest> {
  // Streams never end by themselves; everything else the document lists is fair game.
  const operations = Object.entries(openapi.paths)
    .filter(([path]) => !path.endsWith('/events') || path.includes('{id}'))
    .flatMap(([path, methods]) => Object.keys(methods).map((method) => ({ path, method: method.toUpperCase() })));
  return fc
    .record({
      operation: fc.constantFrom(...operations),
      method: fc.option(fc.constantFrom('GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'), { freq: 5 }),
      id: pathParam,
      query: fc.dictionary(
        fc.constantFrom('limit', 'offset', 'state', 'tail', 'timestamps', 'force', 'jobId', 'x'),
        fc.oneof(fc.string({ maxLength: 30 }), fc.integer().map(String)),
        { maxKeys: 3 },
      ),
      body: fc.oneof(
        mutatedCreateBody.map((b) => JSON.stringify(b)),
        hostileValue.map((v) => JSON.stringify(v) ?? 'null'),
        fc.constantFrom('{', '{"a":', '[1,2', 'not json', '\u0000', '{"__proto__":{"x":1}}', ''),
        fc.json({ maxDepth: 6 }),
      ),
      contentType: fc.constantFrom(
        'application/json',
        'application/json',
        'text/plain',
        'application/x-www-form-urlencoded',
        'application/json; charset=utf-7',
      ),
      auth: fc.constantFrom(
        `Bearer ${ADMIN_KEY}`,
        `Bearer ${ADMIN_KEY}`,
        `Bearer ${ADMIN_KEY}`,
        'Bearer nope',
        'Basic YTpi',
        '',
      ),
    })
    .map(({ operation, method, id, query, body, contentType, auth }) => {
      const path =
        operation.path.replace('{id}', id) +
        (Object.keys(query).length ? `?${new URLSearchParams(query).toString()}` : '');
      const chosen = method ?? operation.method;
      const headers: Record<string, string> = { 'content-type': contentType };
      if (auth) headers.authorization = auth;
      return { method: chosen, path, headers, body: chosen === 'GET' || chosen === 'OPTIONS' ? undefined : body };
    });
}

describe('HTTP fuzzing of a live instance', () => {
  let database: TestDatabase;
  let app: INestApplication;
  let baseUrl: string;

  beforeAll(async () => {
    database = await createTestDatabase('sqlite');
    ({ app, baseUrl } = await startTestApp(database, {
      RUNNERHUB_API_KEYS: `${ADMIN_KEY}:admin`,
      RATE_LIMIT_MUTATIONS_PER_MINUTE: '100000',
      // Limits would answer most of the fuzz with 429 before it reached the validation and handlers under test.
      RATE_LIMIT_READS_PER_MINUTE: '1000000',
      RATE_LIMIT_ANONYMOUS_PER_MINUTE: '1000000',
    }));
  });

  afterAll(async () => {
    await app?.close();
    const leftovers = docker(['ps', '-aq', '--filter', `label=${TEST_LABEL}=fuzz`])
      .split('\n')
      .filter(Boolean);
    if (leftovers.length > 0) docker(['rm', '-f', ...leftovers]);
    await database?.drop();
  });

  it(`answers ${REQUESTS} random and mutated requests without a single 5xx, and stays up`, async () => {
    const openapi = (await (await fetch(`${baseUrl}/api/docs-json`)).json()) as OpenApi;
    const requests = fc.sample(requestsFrom(openapi), { numRuns: REQUESTS, seed: SEED });
    const statuses = new Map<number, number>();
    const failures: string[] = [];
    let next = 0;
    await Promise.all(
      Array.from({ length: CONCURRENCY }, async () => {
        while (next < requests.length) {
          const request = requests[next++];
          const response = await fetch(`${baseUrl}${request.path}`, {
            method: request.method,
            headers: request.headers,
            body: request.body,
            signal: AbortSignal.timeout(30_000),
          });
          // A path like /api/containers/../events resolves to the event stream, which never ends: its headers are the
          // answer, and hanging up must be enough.
          if (response.headers.get('content-type')?.startsWith('text/event-stream')) await response.body?.cancel();
          else await response.arrayBuffer();
          statuses.set(response.status, (statuses.get(response.status) ?? 0) + 1);
          if (response.status >= 500)
            failures.push(`${response.status} ${request.method} ${request.path.slice(0, 120)}`);
        }
      }),
    );
    const summary = Object.fromEntries([...statuses.entries()].sort(([a], [b]) => a - b));
    process.stdout.write(`fuzz: ${REQUESTS} requests (seed ${SEED}), statuses ${JSON.stringify(summary)}\n`);
    expect(failures).toEqual([]);
    expect([...statuses.values()].reduce((a, b) => a + b, 0)).toBe(REQUESTS);
    // Still alive, still ready, still answering real work.
    expect((await fetch(`${baseUrl}/health/ready`)).status).toBe(200);
    const list = await fetch(`${baseUrl}/api/containers`, { headers: { authorization: `Bearer ${ADMIN_KEY}` } });
    expect(list.status).toBe(200);
  }, 600_000);
});
