import { ExecutionContext, Injectable } from '@nestjs/common';
import { ThrottlerGuard } from '@nestjs/throttler';
import type { Request } from 'express';
import { isMutatingMethod } from '../mutating-methods';
import { Actor } from './auth.decorators';

/**
 * Limits mutating calls (POST, PUT, PATCH, DELETE) per API key; reads are never limited, so dashboards and polling
 * clients are not starved by a busy automation. Runs after the API key guard, so the budget belongs to the key's
 * name (the caller's IP only where no key applies), and it is one budget across all mutating routes.
 */
@Injectable()
export class MutationThrottlerGuard extends ThrottlerGuard {
  protected override shouldSkip(context: ExecutionContext): Promise<boolean> {
    if (context.getType() !== 'http') return Promise.resolve(true);
    return Promise.resolve(!isMutatingMethod(context.switchToHttp().getRequest<Request>().method));
  }

  protected override async getTracker(request: Record<string, unknown>): Promise<string> {
    const actor = request.actor as Actor | undefined;
    return actor ? `key:${actor.name}` : `ip:${await super.getTracker(request)}`;
  }

  protected override generateKey(_context: ExecutionContext, tracker: string, throttlerName: string): string {
    // The library's default key is per controller and handler; the limit here is per caller, whatever the route.
    return `${throttlerName}:${tracker}`;
  }
}
