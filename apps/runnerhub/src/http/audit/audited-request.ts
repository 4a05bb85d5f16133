import type { Request } from 'express';
import type { Actor } from '../auth/auth.decorators';

/** What the audit row needs to know about the route a request reached, noted before any guard can refuse it. */
export interface AuditedRoute {
  /** From `@Audited(action)`; undefined on routes that do not name one. */
  action?: string;
  /** Body fields the route asks to keep in the row. */
  bodyFields: string[];
  /** The route's pattern, e.g. `/api/containers/:id/stop`. */
  routePath: string;
  /** The route's `:id` (or `:name`), when it has one. */
  target: string | null;
}

export const AUDITED_ROUTE = Symbol('runnerhub:audited-route');

/** A request as the audit trail reads it: the actor from the API key guard, the id from the request logger. */
export type AuditedRequest = Request & { actor?: Actor; id?: unknown; [AUDITED_ROUTE]?: AuditedRoute };
