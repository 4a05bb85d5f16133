import type { NewAuditLogEntry } from '@app/persistence';
import type { Actor } from '../auth/auth.decorators';
import { AUDITED_ROUTE, AuditedRequest } from './audited-request';

const MAX_ACTION = 256;
/** Enough for any real route with its query; a longer path is only ever an attempt to fill the table. */
const MAX_PATH = 512;
const MAX_TARGET = 128;
const MAX_REQUEST_ID = 128;
/** A kept body field larger than this (serialised) is replaced by a note: the audit log is not a payload store. */
const MAX_FIELD_JSON = 2048;
/**
 * Kept out of the row even when a route names them: env values and credentials never reach the audit log, whatever
 * a future `@Audited({ bodyFields })` says by mistake.
 */
const NEVER_KEPT = /^env$|token|secret|password|passphrase|credential|private.?key|api.?key|authorization/i;

/** The audit row for a mutating call, from the request, who made it (if known) and what the caller received. */
export function buildAuditEntry(
  request: AuditedRequest,
  response: { status: number; body: unknown },
  actor: Actor | undefined,
  at: Date = new Date(),
): NewAuditLogEntry {
  const route = request[AUDITED_ROUTE];
  const method = request.method.toUpperCase();
  const failed = response.status >= 400;
  return {
    at,
    actor: actor?.name ?? 'anonymous',
    role: actor?.role ?? null,
    action: clip(route?.action ?? `${method} ${route?.routePath ?? request.path}`, MAX_ACTION),
    method,
    path: clip(request.originalUrl, MAX_PATH),
    target: clipOrNull(route?.target ?? createdId(response.status, response.body), MAX_TARGET),
    outcome: failed ? 'failure' : 'success',
    status: response.status,
    errorCode: failed ? errorCodeOf(response.body) : null,
    details: keptFields(request.body, route?.bodyFields ?? []),
    requestId: typeof request.id === 'string' ? clip(request.id, MAX_REQUEST_ID) : null,
  };
}

function keptFields(body: unknown, fields: string[]): Record<string, unknown> {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return {};
  const kept: Record<string, unknown> = {};
  for (const field of fields) {
    if (NEVER_KEPT.test(field) || !Object.prototype.hasOwnProperty.call(body, field)) continue;
    const value = (body as Record<string, unknown>)[field];
    const json = JSON.stringify(value);
    if (json === undefined) continue;
    kept[field] = json.length > MAX_FIELD_JSON ? `[omitted: ${json.length} characters of JSON]` : value;
  }
  return kept;
}

/** A create has no `:id` yet: the id it answers with (or the name, for resources known by name) is its target. */
function createdId(status: number, body: unknown): string | null {
  if (status !== 201) return null;
  const data = (body as { data?: { id?: unknown; name?: unknown } } | null | undefined)?.data;
  const id = data?.id ?? data?.name;
  return typeof id === 'string' ? id : null;
}

function errorCodeOf(body: unknown): string | null {
  const code = (body as { error?: { code?: unknown } } | null | undefined)?.error?.code;
  return typeof code === 'string' ? clip(code, 64) : null;
}

function clipOrNull(text: string | null, max: number): string | null {
  return text === null ? null : clip(text, max);
}

function clip(text: string, max: number): string {
  return text.length > max ? text.slice(0, max) : text;
}
