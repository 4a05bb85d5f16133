import { HttpException } from '@nestjs/common';
import { ApiErrorCode } from './api-error-code';

/**
 * A refusal that belongs to the HTTP layer rather than the domain (a webhook's signature, for example), carrying the
 * code the client reads; also a domain code answered with another status than its usual one (an engine that does
 * not answer when it is being added is 422 ENGINE_UNAVAILABLE, not 503: the request, not RunnerHub, is at fault).
 * The exception filter turns it into the usual error envelope.
 */
export class ApiHttpError extends HttpException {
  constructor(
    status: number,
    readonly code: ApiErrorCode,
    message: string,
    readonly details: Record<string, unknown> = {},
  ) {
    super(message, status);
  }
}
