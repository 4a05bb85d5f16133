import { HttpException } from '@nestjs/common';
import { HttpErrorCode } from './api-error-code';

/**
 * A refusal that belongs to the HTTP layer rather than the domain (a webhook's signature, for example), carrying the
 * code the client reads. The exception filter turns it into the usual error envelope.
 */
export class ApiHttpError extends HttpException {
  constructor(
    status: number,
    readonly code: HttpErrorCode,
    message: string,
    readonly details: Record<string, unknown> = {},
  ) {
    super(message, status);
  }
}
