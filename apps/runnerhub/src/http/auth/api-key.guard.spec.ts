import { loadAppConfig } from '@app/common';
import { ExecutionContext, ForbiddenException, HttpException, UnauthorizedException } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { ExecutionContextHost } from '@nestjs/core/helpers/execution-context-host';
import { knownApiKey } from './api-key.crypto';
import { ApiKeyGuard } from './api-key.guard';
import { ApiKeyRegistry } from './api-key.registry';
import { Actor, Public, RequireRole } from './auth.decorators';
import { Caller, CallerAdmission } from './caller-admission.hook';
import { StoredApiKeys } from './stored-api-keys.service';

const KEYS = {
  viewer: 'guard-viewer-key-0123456789',
  operator: 'guard-operator-key-0123456789',
  admin: 'guard-admin-key-0123456789',
};

class Routes {
  @Public()
  open() {}
  read() {}
  @RequireRole('operator')
  change() {}
  @RequireRole('admin')
  exec() {}
}

@RequireRole('operator')
class OperatorRoutes {
  anything() {}
  @RequireRole('viewer')
  loosened() {}
}

interface FakeRequest {
  method: string;
  path: string;
  route: { path: string };
  headers: Record<string, string>;
  actor?: Actor;
}

function fakeCall(handler: keyof Routes | keyof OperatorRoutes, authorization?: string) {
  const owner = handler in Routes.prototype ? Routes : OperatorRoutes;
  const request: FakeRequest = {
    method: 'POST',
    path: '/api/things/1',
    route: { path: '/api/things/:id' },
    headers: authorization === undefined ? {} : { authorization },
  };
  const headers: Record<string, string> = {};
  const response = { setHeader: (name: string, value: string) => (headers[name.toLowerCase()] = value) };
  const method = (owner.prototype as unknown as Record<string, () => void>)[handler];
  const context = new ExecutionContextHost([request, response, () => undefined], owner, method);
  context.setType('http');
  return { context: context as ExecutionContext, request, headers };
}

describe(ApiKeyGuard.name, () => {
  let guard: ApiKeyGuard;
  let registry: ApiKeyRegistry;
  /** What CallerAdmission found on each request; none by default, as on a route outside /api. */
  const admitted = new Map<object, Caller>();

  beforeAll(async () => {
    const config = loadAppConfig({
      RUNNERHUB_API_KEYS: Object.entries(KEYS)
        .map(([role, key]) => `${key}:${role}`)
        .join(','),
    });
    const stored = { loadOrGenerate: () => Promise.reject(new Error('not with configured keys')) };
    registry = new ApiKeyRegistry(config, stored as unknown as StoredApiKeys);
    await registry.onModuleInit();
    const admission = { callerOf: (request: object) => admitted.get(request) };
    guard = new ApiKeyGuard(registry, new Reflector(), admission as unknown as CallerAdmission);
  });

  afterEach(() => {
    admitted.clear();
    jest.restoreAllMocks();
  });

  function refusal(call: ReturnType<typeof fakeCall>): HttpException {
    try {
      guard.canActivate(call.context);
    } catch (error) {
      if (error instanceof HttpException) return error;
      throw error;
    }
    throw new Error('expected the guard to refuse');
  }

  it('lets anyone through a public route, without looking for a key', () => {
    const call = fakeCall('open');
    expect(guard.canActivate(call.context)).toBe(true);
    expect(call.request.actor).toBeUndefined();
  });

  it('refuses a call without a key with 401 and a WWW-Authenticate challenge', () => {
    const call = fakeCall('read');
    const error = refusal(call);
    expect(error).toBeInstanceOf(UnauthorizedException);
    expect(error.message).toMatch(/Authorization: Bearer <key>/);
    expect(call.headers['www-authenticate']).toBe('Bearer realm="RunnerHub"');
  });

  it.each([
    ['a malformed header', `Token ${KEYS.admin}`, /not a bearer token/],
    ['two tokens', `Bearer ${KEYS.admin} ${KEYS.admin}`, /not a bearer token/],
    ['an unknown key', 'Bearer guard-unknown-key-0123456789', /^Unknown API key/],
  ])('refuses %s with 401 invalid_token', (_case, header, message) => {
    const call = fakeCall('read', header);
    const error = refusal(call);
    expect(error).toBeInstanceOf(UnauthorizedException);
    expect(error.message).toMatch(message);
    expect(call.headers['www-authenticate']).toBe('Bearer realm="RunnerHub", error="invalid_token"');
    expect(call.request.actor).toBeUndefined();
  });

  it('needs viewer where a route names no role, and attaches the actor', () => {
    const call = fakeCall('read', `Bearer ${KEYS.viewer}`);
    expect(guard.canActivate(call.context)).toBe(true);
    expect(call.request.actor).toEqual({ name: knownApiKey(KEYS.viewer, 'viewer').name, role: 'viewer' });
  });

  it('refuses a role below the route’s with 403, still naming the actor on the request', () => {
    const call = fakeCall('change', `Bearer ${KEYS.viewer}`);
    const error = refusal(call);
    expect(error).toBeInstanceOf(ForbiddenException);
    expect(error.message).toBe(
      `The operator role is needed to call POST /api/things/:id; this API key (${knownApiKey(KEYS.viewer, 'viewer').name}) has the viewer role`,
    );
    expect(call.request.actor?.role).toBe('viewer');
  });

  it('lets a role at or above the route’s through', () => {
    expect(guard.canActivate(fakeCall('change', `Bearer ${KEYS.operator}`).context)).toBe(true);
    expect(guard.canActivate(fakeCall('change', `Bearer ${KEYS.admin}`).context)).toBe(true);
    expect(guard.canActivate(fakeCall('exec', `Bearer ${KEYS.admin}`).context)).toBe(true);
    expect(refusal(fakeCall('exec', `Bearer ${KEYS.operator}`))).toBeInstanceOf(ForbiddenException);
  });

  it('reads a role set on the controller, and lets a handler override it', () => {
    expect(refusal(fakeCall('anything', `Bearer ${KEYS.viewer}`))).toBeInstanceOf(ForbiddenException);
    expect(guard.canActivate(fakeCall('loosened', `Bearer ${KEYS.viewer}`).context)).toBe(true);
  });

  it('takes the caller CallerAdmission identified under /api rather than looking the key up again', () => {
    const lookUp = jest.spyOn(registry, 'authenticate');
    const viewer = fakeCall('read', `Bearer ${KEYS.viewer}`);
    const actor = { name: knownApiKey(KEYS.viewer, 'viewer').name, role: 'viewer' as const };
    admitted.set(viewer.request, { actor, key: 'valid' });
    expect(guard.canActivate(viewer.context)).toBe(true);
    expect(viewer.request.actor).toEqual(actor);

    const unknown = fakeCall('read', `Bearer ${KEYS.admin}`);
    admitted.set(unknown.request, { key: 'unknown' });
    expect(refusal(unknown)).toBeInstanceOf(UnauthorizedException);
    expect(lookUp).not.toHaveBeenCalled();
  });

  it('accepts the scheme in any case', () => {
    expect(guard.canActivate(fakeCall('read', `bearer ${KEYS.viewer}`).context)).toBe(true);
  });
});
