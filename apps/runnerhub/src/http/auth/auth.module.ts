import { AppConfig } from '@app/common';
import { PersistenceModule } from '@app/persistence';
import { Module } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { ThrottlerModule } from '@nestjs/throttler';
import { ApiKeyGuard } from './api-key.guard';
import { ApiKeyRegistry } from './api-key.registry';
import { MutationThrottlerGuard } from './mutation-throttler.guard';
import { StoredApiKeys } from './stored-api-keys.service';

const A_MINUTE_MS = 60_000;

/**
 * Who may call what, and how often: API keys with roles on every route but the public ones, and a per-key limit on
 * mutating calls. The guards run in the order listed: the key first, so the rate limit can count per key.
 */
@Module({
  imports: [
    PersistenceModule,
    ThrottlerModule.forRootAsync({
      inject: [AppConfig],
      // Named `default` so that the 429 carries a plain `Retry-After` header (other names add a suffix).
      useFactory: (config: AppConfig) => ({
        throttlers: [{ name: 'default', ttl: A_MINUTE_MS, limit: config.rateLimit.mutationsPerMinute }],
      }),
    }),
  ],
  providers: [
    StoredApiKeys,
    ApiKeyRegistry,
    { provide: APP_GUARD, useClass: ApiKeyGuard },
    { provide: APP_GUARD, useClass: MutationThrottlerGuard },
  ],
  exports: [ApiKeyRegistry],
})
export class AuthModule {}
