import { CanActivate, ExecutionContext, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { AUDIT_ACTION, AuditOptions } from '../auth/auth.decorators';
import { isMutatingMethod } from '../mutating-methods';
import { AUDITED_ROUTE, AuditedRequest } from './audited-request';

/**
 * Never refuses anything. It runs first of the global guards and notes which route (action, pattern, `:id` or
 * `:name`) a mutating request reached, so that a call the API key guard or the rate limit then refuses is still
 * audited under its action and target: interceptors, which run after the guards, would never see those calls.
 */
@Injectable()
export class AuditRouteGuard implements CanActivate {
  constructor(private readonly reflector: Reflector) {}

  canActivate(context: ExecutionContext): boolean {
    if (context.getType() !== 'http') return true;
    const request = context.switchToHttp().getRequest<AuditedRequest>();
    if (!isMutatingMethod(request.method)) return true;
    const audit = this.reflector.getAllAndOverride<(AuditOptions & { action: string }) | undefined>(AUDIT_ACTION, [
      context.getHandler(),
      context.getClass(),
    ]);
    const routePath = (request.route as { path?: unknown } | undefined)?.path;
    // A resource's `:id`, or its `:name` for resources known by name (engines).
    const params = request.params as Record<string, unknown> | undefined;
    const id = params?.id ?? params?.name;
    request[AUDITED_ROUTE] = {
      action: audit?.action,
      bodyFields: audit?.bodyFields ?? [],
      routePath: typeof routePath === 'string' ? routePath : request.path,
      target: typeof id === 'string' ? id : null,
    };
    return true;
  }
}
