import { CanActivate, ExecutionContext, Injectable, UnauthorizedException } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { Request, Response } from 'express';
import { ApiKeyRegistry } from './api-key.registry';
import { Actor, PUBLIC_ROUTE, REQUIRED_ROLE, Role } from './auth.decorators';
import { readBearerKey } from './bearer-key';
import { CallerAdmission } from './caller-admission.hook';
import { assertRole } from './roles.policy';

const HOW_TO_SEND = 'send an API key as `Authorization: Bearer <key>`';

type AuthenticatedRequest = Request & { actor?: Actor };

/**
 * The gate in front of every route: `@Public()` routes are open; every other one needs a known API key (401
 * otherwise) whose role is at least the route's `@RequireRole` (viewer when it names none; 403 otherwise). The
 * caller is attached as `request.actor` before the role check, so that a refused call is still audited by name.
 */
@Injectable()
export class ApiKeyGuard implements CanActivate {
  constructor(
    private readonly registry: ApiKeyRegistry,
    private readonly reflector: Reflector,
    private readonly admission: CallerAdmission,
  ) {}

  canActivate(context: ExecutionContext): boolean {
    if (context.getType() !== 'http') return true;
    const targets = [context.getHandler(), context.getClass()];
    if (this.reflector.getAllAndOverride<boolean>(PUBLIC_ROUTE, targets)) return true;

    const request = context.switchToHttp().getRequest<AuthenticatedRequest>();
    const response = context.switchToHttp().getResponse<Response>();
    const presented = readBearerKey(request.headers.authorization);
    if (presented === 'missing') {
      throw unauthorized(response, `This call needs an API key: ${HOW_TO_SEND}`, false);
    }
    if (presented === 'malformed') {
      throw unauthorized(response, `The Authorization header is not a bearer token: ${HOW_TO_SEND}`, true);
    }
    const actor = this.actorOf(request, presented.key);
    if (!actor) {
      throw unauthorized(response, `Unknown API key: ${HOW_TO_SEND} with a key RunnerHub knows`, true);
    }
    request.actor = actor;

    const needed = this.reflector.getAllAndOverride<Role | undefined>(REQUIRED_ROLE, targets) ?? 'viewer';
    assertRole(actor, needed, `call ${request.method} ${routeOf(request)}`);
    return true;
  }

  /**
   * Under /api, CallerAdmission has already hashed and matched this request's key when it arrived: its verdict is
   * taken rather than hashing the key a second time. Elsewhere the key is looked up here.
   */
  private actorOf(request: Request, key: string): Actor | undefined {
    const admitted = this.admission.callerOf(request);
    return admitted ? admitted.actor : this.registry.authenticate(key);
  }
}

/** The route's pattern (`/api/containers/:id/stop`) rather than the path called, which may be long or odd. */
function routeOf(request: Request): string {
  const route = (request.route as { path?: unknown } | undefined)?.path;
  return typeof route === 'string' ? route : request.path;
}

/** RFC 6750: a 401 names the scheme, and says `invalid_token` when a token was sent but is not accepted. */
function unauthorized(response: Response, message: string, tokenWasSent: boolean): UnauthorizedException {
  response.setHeader('WWW-Authenticate', `Bearer realm="RunnerHub"${tokenWasSent ? ', error="invalid_token"' : ''}`);
  return new UnauthorizedException(message);
}
