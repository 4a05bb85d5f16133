import { createHash } from 'node:crypto';

/** One API key per role, for suites that test access control; each is at least 16 characters, as required. */
export const ROLE_KEYS = {
  viewer: 'access-viewer-key-0123456789abcdef',
  operator: 'access-operator-key-0123456789abcdef',
  admin: 'access-admin-key-0123456789abcdef',
} as const;

export type RoleName = keyof typeof ROLE_KEYS;

/** RUNNERHUB_API_KEYS for {@link ROLE_KEYS}. */
export const ROLE_KEYS_SETTING = Object.entries(ROLE_KEYS)
  .map(([role, key]) => `${key}:${role}`)
  .join(',');

/** The name RunnerHub gives a key in audit rows: `<role>-<first 8 hex of its SHA-256>`. */
export function keyName(role: RoleName, key: string = ROLE_KEYS[role]): string {
  return `${role}-${createHash('sha256').update(key).digest('hex').slice(0, 8)}`;
}

export interface Answer {
  status: number;
  headers: Headers;
  body: unknown;
}

/** One HTTP call with an optional API key; a JSON body is sent as JSON, a string as it is. */
export async function call(
  baseUrl: string,
  method: string,
  path: string,
  { key, body, headers = {} }: { key?: string; body?: unknown; headers?: Record<string, string> } = {},
): Promise<Answer> {
  const response = await fetch(`${baseUrl}${path}`, {
    method,
    headers: {
      ...(key === undefined ? {} : { authorization: `Bearer ${key}` }),
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      ...headers,
    },
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await response.text();
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    // Not JSON: kept as text for the failure message.
  }
  return { status: response.status, headers: response.headers, body: parsed };
}

/** The error envelope's code and message, after checking the envelope's shape. */
export function errorOf(answer: Answer): { code: string; message: string } {
  expect(answer.body).toEqual({
    success: false,
    error: { code: expect.any(String), message: expect.any(String), details: expect.any(Object) },
  });
  return (answer.body as { error: { code: string; message: string } }).error;
}

type OpenApi = { paths: Record<string, Record<string, unknown>> };

/** Which `METHOD /path` operations the running service documents (paths as in the document, `{id}` style). */
export async function documentedOperations(baseUrl: string): Promise<Set<string>> {
  const response = await fetch(`${baseUrl}/api/docs-json`);
  const document = (await response.json()) as OpenApi;
  return new Set(
    Object.entries(document.paths).flatMap(([path, operations]) =>
      Object.keys(operations).map((method) => `${method.toUpperCase()} ${path}`),
    ),
  );
}
