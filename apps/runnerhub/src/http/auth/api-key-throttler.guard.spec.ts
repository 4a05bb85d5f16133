import { ExecutionContext } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { ExecutionContextHost } from '@nestjs/core/helpers/execution-context-host';
import { SlidingWindowThrottlerStorage } from './sliding-window.throttler-storage';
import { HttpErrorCode } from '../api-error-code';
import { ApiHttpError } from '../api-http.error';
import { ApiKeyThrottlerGuard } from './api-key-throttler.guard';
import { Actor } from './auth.decorators';

const LIMITS = { mutations: 2, reads: 3 };

function call(method: string, actor?: Actor) {
  const headers: Record<string, string> = {};
  const request = { method, actor, ip: '10.0.0.1', headers: {} };
  const response = { header: (name: string, value: string) => (headers[name.toLowerCase()] = String(value)) };
  const context = new ExecutionContextHost([request, response, () => undefined], Routes, Routes.prototype.handle);
  context.setType('http');
  return { context: context as ExecutionContext, headers };
}

class Routes {
  handle() {}
}

async function refusal(guard: ApiKeyThrottlerGuard, context: ExecutionContext): Promise<ApiHttpError> {
  try {
    await guard.canActivate(context);
  } catch (error) {
    if (error instanceof ApiHttpError) return error;
    throw error;
  }
  throw new Error('expected a 429');
}

describe(ApiKeyThrottlerGuard.name, () => {
  let storage: SlidingWindowThrottlerStorage;
  let guard: ApiKeyThrottlerGuard;
  const operator: Actor = { name: 'operator-1a2b3c4d', role: 'operator' };
  const other: Actor = { name: 'operator-99999999', role: 'operator' };

  beforeEach(async () => {
    storage = new SlidingWindowThrottlerStorage();
    const limit = (context: ExecutionContext) =>
      ['POST', 'PUT', 'PATCH', 'DELETE'].includes(context.switchToHttp().getRequest<{ method: string }>().method)
        ? LIMITS.mutations
        : LIMITS.reads;
    guard = new ApiKeyThrottlerGuard(
      { throttlers: [{ name: 'default', ttl: 60_000, limit }] },
      storage,
      new Reflector(),
    );
    await guard.onModuleInit();
  });

  afterEach(() => storage.clear());

  it('gives each key a budget of mutating calls, then 429 RATE_LIMITED naming the variable, with Retry-After', async () => {
    for (let i = 0; i < LIMITS.mutations; i++)
      expect(await guard.canActivate(call('POST', operator).context)).toBe(true);
    const limited = call('DELETE', operator);
    const error = await refusal(guard, limited.context);
    expect(error.getStatus()).toBe(429);
    expect(error.code).toBe(HttpErrorCode.RateLimited);
    expect(error.message).toBe(
      'Too many mutating calls with this API key (RATE_LIMIT_MUTATIONS_PER_MINUTE is 2): wait for the Retry-After ' +
        'header and try again',
    );
    expect(Number(limited.headers['retry-after'])).toBeGreaterThan(0);
    // Another key has its own budget.
    expect(await guard.canActivate(call('POST', other).context)).toBe(true);
  });

  it('counts reads in a budget of their own, apart from mutations', async () => {
    for (let i = 0; i < LIMITS.mutations; i++) await guard.canActivate(call('POST', operator).context);
    for (let i = 0; i < LIMITS.reads; i++) expect(await guard.canActivate(call('GET', operator).context)).toBe(true);
    const error = await refusal(guard, call('GET', operator).context);
    expect(error.message).toMatch(/^Too many reading calls with this API key \(RATE_LIMIT_READS_PER_MINUTE is 3\)/);
    expect(await guard.canActivate(call('GET', other).context)).toBe(true);
  });

  it('does not count calls without an actor: public routes, and calls the key guard refused', async () => {
    for (let i = 0; i < 10; i++) {
      expect(await guard.canActivate(call('GET').context)).toBe(true);
      expect(await guard.canActivate(call('POST').context)).toBe(true);
    }
  });
});
