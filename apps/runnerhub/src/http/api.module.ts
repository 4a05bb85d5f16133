import { Module } from '@nestjs/common';
import { APP_FILTER, APP_INTERCEPTOR, APP_PIPE } from '@nestjs/core';
import { ApiExceptionFilter } from './api-exception.filter';
import { ResponseEnvelopeInterceptor } from './response-envelope.interceptor';
import { createValidationPipe } from './validation.pipe';

/**
 * The REST API under /api: strict validation, one error filter, the success envelope, and (from the feature
 * modules imported here) authentication, rate limits, audit and the resources themselves.
 */
@Module({
  imports: [],
  providers: [
    { provide: APP_PIPE, useFactory: createValidationPipe },
    { provide: APP_FILTER, useClass: ApiExceptionFilter },
    { provide: APP_INTERCEPTOR, useClass: ResponseEnvelopeInterceptor },
  ],
})
export class ApiModule {}
