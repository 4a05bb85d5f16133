import { AppConfig } from '@app/common';
import { PersistenceModule } from '@app/persistence';
import { ExecutionContext, Module } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { ThrottlerModule } from '@nestjs/throttler';
import type { Request } from 'express';
import { AnonymousRefusals } from './anonymous-refusals.service';
import { ApiKeyGuard } from './api-key.guard';
import { ApiKeyRegistry } from './api-key.registry';
import { ApiKeyThrottlerGuard, budgetOf } from './api-key-throttler.guard';
import { CallerAdmission } from './caller-admission.hook';
import { SlidingWindowThrottlerStorage } from './sliding-window.throttler-storage';
import { StoredApiKeys } from './stored-api-keys.service';

const A_MINUTE_MS = 60_000;

/**
 * Who may call what, and how often: calls without a valid key limited per client address before anything else runs
 * (CallerAdmission), API keys with roles on every route but the public ones, and per-key limits on mutating calls
 * and on reads. The guards run in the order listed: the key first, so the rate limit can count per key.
 */
@Module({
  imports: [
    PersistenceModule,
    ThrottlerModule.forRootAsync({
      inject: [AppConfig],
      // Named `default` so that the 429 carries a plain `Retry-After` header (other names add a suffix). One
      // throttler with a limit by method rather than two: two would both set (and suffix) the same headers.
      useFactory: (config: AppConfig) => ({
        // The library's algorithm in constant time per call (see SlidingWindowThrottlerStorage); CallerAdmission's
        // per-address budget counts in the same storage.
        storage: new SlidingWindowThrottlerStorage(),
        throttlers: [
          {
            name: 'default',
            ttl: A_MINUTE_MS,
            limit: (context: ExecutionContext) =>
              budgetOf(context.switchToHttp().getRequest<Request>().method) === 'mutations'
                ? config.rateLimit.mutationsPerMinute
                : config.rateLimit.readsPerMinute,
          },
        ],
      }),
    }),
  ],
  providers: [
    StoredApiKeys,
    ApiKeyRegistry,
    AnonymousRefusals,
    CallerAdmission,
    { provide: APP_GUARD, useClass: ApiKeyGuard },
    { provide: APP_GUARD, useClass: ApiKeyThrottlerGuard },
  ],
  exports: [ApiKeyRegistry, CallerAdmission],
})
export class AuthModule {}
