import { ExecutionContext, Injectable } from '@nestjs/common';
import { ThrottlerGuard, ThrottlerLimitDetail } from '@nestjs/throttler';
import type { Request } from 'express';
import { HttpErrorCode } from '../api-error-code';
import { ApiHttpError } from '../api-http.error';
import { isMutatingMethod } from '../mutating-methods';
import { Actor } from './auth.decorators';

/** Each key has two budgets a minute: one for calls that change something, a larger one for reads. */
export type KeyBudget = 'mutations' | 'reads';

export function budgetOf(method: string): KeyBudget {
  return isMutatingMethod(method) ? 'mutations' : 'reads';
}

const BUDGET_SETTING: Record<KeyBudget, { variable: string; calls: string }> = {
  mutations: { variable: 'RATE_LIMIT_MUTATIONS_PER_MINUTE', calls: 'mutating calls' },
  reads: { variable: 'RATE_LIMIT_READS_PER_MINUTE', calls: 'reading calls' },
};

/**
 * Limits the calls of each API key: mutating ones (POST, PUT, PATCH, DELETE) to RATE_LIMIT_MUTATIONS_PER_MINUTE and
 * reads, a separate and much larger budget, to RATE_LIMIT_READS_PER_MINUTE, so that a polling dashboard does not eat
 * into what its key may change, nor a runaway script take the service from everyone else. Runs after the API key
 * guard: the budget belongs to the key's name, one across all routes. Calls without an actor are not counted here:
 * the public routes (health, metrics, webhooks) have no key to count against, and every other call without a valid
 * key was refused by the API key guard after CallerAdmission had counted it against its client address.
 */
@Injectable()
export class ApiKeyThrottlerGuard extends ThrottlerGuard {
  protected override shouldSkip(context: ExecutionContext): Promise<boolean> {
    if (context.getType() !== 'http') return Promise.resolve(true);
    return Promise.resolve(actorOf(context.switchToHttp().getRequest<Request>()) === undefined);
  }

  protected override getTracker(request: Record<string, unknown>): Promise<string> {
    return Promise.resolve(`key:${(request.actor as Actor).name}`);
  }

  protected override generateKey(context: ExecutionContext, tracker: string, throttlerName: string): string {
    // The library's default key is per controller and handler; the limit here is per key and budget, whatever the
    // route.
    const method = context.switchToHttp().getRequest<Request>().method;
    return `${throttlerName}:${budgetOf(method)}:${tracker}`;
  }

  protected override throwThrottlingException(context: ExecutionContext, detail: ThrottlerLimitDetail): Promise<void> {
    const { variable, calls } = BUDGET_SETTING[budgetOf(context.switchToHttp().getRequest<Request>().method)];
    throw new ApiHttpError(
      429,
      HttpErrorCode.RateLimited,
      `Too many ${calls} with this API key (${variable} is ${detail.limit}): wait for the Retry-After header and ` +
        'try again',
    );
  }
}

function actorOf(request: Request): Actor | undefined {
  return (request as Request & { actor?: Actor }).actor;
}
