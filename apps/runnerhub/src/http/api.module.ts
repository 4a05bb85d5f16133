import { Module } from '@nestjs/common';
import { APP_FILTER, APP_PIPE } from '@nestjs/core';
import { ApiExceptionFilter } from './api-exception.filter';
import { AuditModule } from './audit/audit.module';
import { AuthModule } from './auth/auth.module';
import { CleanupApiModule } from './cleanup/cleanup-api.module';
import { ContainersApiModule } from './containers/containers-api.module';
import { EnginesApiModule } from './engines/engines-api.module';
import { EventsApiModule } from './events/events-api.module';
import { JobsApiModule } from './jobs/jobs-api.module';
import { PoolsApiModule } from './pools/pools-api.module';
import { createValidationPipe } from './validation.pipe';
import { WebhooksApiModule } from './webhooks/webhooks-api.module';

/**
 * The REST API under /api: strict validation, one error filter, the success envelope, and (from the feature
 * modules imported here) authentication, rate limits, audit and the resources themselves.
 */
@Module({
  imports: [
    AuditModule,
    AuthModule,
    ContainersApiModule,
    EventsApiModule,
    JobsApiModule,
    WebhooksApiModule,
    CleanupApiModule,
    EnginesApiModule,
    PoolsApiModule,
  ],
  providers: [
    { provide: APP_PIPE, useFactory: createValidationPipe },
    { provide: APP_FILTER, useClass: ApiExceptionFilter },
  ],
})
export class ApiModule {}
