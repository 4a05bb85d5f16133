/** Paging facts returned beside the items of every list. */
export interface PageFacts {
  limit: number;
  offset: number;
  total: number;
}

/** The body of every successful call under /api (ApiEnvelope documents it for each operation). */
export interface Envelope<T> {
  success: true;
  data: T;
}

/** A list's body: the items in `data`, the paging facts beside them. */
export interface PagedEnvelope<T> extends Envelope<T[]> {
  page: PageFacts;
}

/*
 * Handlers wrap their own results rather than a global interceptor doing it: measured under bench:api, a global
 * interceptor put every request through Nest's interceptor chain (rxjs observables and two AsyncResource bindings),
 * a fifth of what a whole `GET /api/containers/:id` costs. Health probes, metrics and event streams keep their own
 * formats simply by not calling these.
 */

/** `{ success: true, data }`; a handler with nothing to return answers `data: null`. */
export function envelope<T>(data: T): Envelope<T> {
  return { success: true, data };
}

/** `{ success: true, data: items, page }`. */
export function pagedEnvelope<T>(items: T[], page: PageFacts): PagedEnvelope<T> {
  return { success: true, data: items, page };
}
