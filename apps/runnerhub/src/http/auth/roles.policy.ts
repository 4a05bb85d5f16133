import { ForbiddenException } from '@nestjs/common';
import { Actor, Role, ROLES } from './auth.decorators';

/** True when `role` may do what `needed` may: roles are ordered, each including the ones below it. */
export function roleAtLeast(role: Role, needed: Role): boolean {
  return ROLES.indexOf(role) >= ROLES.indexOf(needed);
}

/**
 * Refuses with 403 FORBIDDEN, naming the role needed and the caller's, unless the actor has at least `needed`. For
 * rules a route's `@RequireRole` cannot express because they depend on the request, e.g.
 * `assertRole(actor, 'admin', 'remove a running container with force')`.
 */
export function assertRole(actor: Actor, needed: Role, what = 'call this operation'): void {
  if (roleAtLeast(actor.role, needed)) return;
  throw new ForbiddenException(
    `The ${needed} role is needed to ${what}; this API key (${actor.name}) has the ${actor.role} role`,
  );
}
