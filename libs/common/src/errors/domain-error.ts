import { ErrorCode } from './error-code';

export type ErrorDetails = Record<string, unknown>;

/**
 * The one error type libraries throw for failures a caller can act on. It carries a code (what kind of failure),
 * a message written for the person who has to fix it, and details that a client can read without parsing prose.
 */
export class DomainError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details: ErrorDetails = {},
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'DomainError';
  }

  static is(error: unknown, code?: ErrorCode): error is DomainError {
    return error instanceof DomainError && (code === undefined || error.code === code);
  }
}

/** The message of anything thrown, for a log line. */
export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
