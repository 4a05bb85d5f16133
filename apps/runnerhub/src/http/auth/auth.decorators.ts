import { applyDecorators, createParamDecorator, ExecutionContext, SetMetadata } from '@nestjs/common';
import { ApiBearerAuth } from '@nestjs/swagger';

/** Roles in rising order of power: each may do everything the ones before it may. */
export const ROLES = ['viewer', 'operator', 'admin'] as const;
export type Role = (typeof ROLES)[number];

export const REQUIRED_ROLE = 'runnerhub:required-role';
export const PUBLIC_ROUTE = 'runnerhub:public';
export const AUDIT_ACTION = 'runnerhub:audit-action';

/** The least role that may call this route; without it a route needs `viewer`. Documents the bearer scheme. */
export const RequireRole = (role: Role) => applyDecorators(SetMetadata(REQUIRED_ROLE, role), ApiBearerAuth());

/** Open to anyone: health, metrics, API docs. */
export const Public = () => SetMetadata(PUBLIC_ROUTE, true);

export interface AuditOptions {
  /** Body fields worth keeping in the audit row (e.g. an exec's `command`); nothing else of the body is kept. */
  bodyFields?: string[];
}

/**
 * Names the action an audit row records for this mutating route, e.g. `container.stop`. Every POST, PUT, PATCH and
 * DELETE is audited; this gives the row a stable name and says which body fields (never env or secrets) to keep.
 */
export const Audited = (action: string, options: AuditOptions = {}) =>
  SetMetadata(AUDIT_ACTION, { action, ...options });

/** Who made the request, as the auth guard established it; attached to the request as `request.actor`. */
export interface Actor {
  /** A stable, non-secret name for the key, e.g. `admin-3f9a1c2b`; written to audit rows and transitions. */
  name: string;
  role: Role;
}

/** The caller of this request (set by the auth guard); `anonymous` on a public route. */
export const CurrentActor = createParamDecorator((_data: unknown, context: ExecutionContext): Actor => {
  const request = context.switchToHttp().getRequest<{ actor?: Actor }>();
  return request.actor ?? { name: 'anonymous', role: 'viewer' };
});
