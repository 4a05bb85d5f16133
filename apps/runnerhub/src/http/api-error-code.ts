import { ErrorCode } from '@app/common';

/** Codes only the HTTP layer produces: failures of the request itself rather than of the domain. */
export enum HttpErrorCode {
  Unauthorized = 'UNAUTHORIZED',
  Forbidden = 'FORBIDDEN',
  RouteNotFound = 'ROUTE_NOT_FOUND',
  MalformedRequest = 'MALFORMED_REQUEST',
  PayloadTooLarge = 'PAYLOAD_TOO_LARGE',
  UnsupportedMediaType = 'UNSUPPORTED_MEDIA_TYPE',
  MethodNotAllowed = 'METHOD_NOT_ALLOWED',
  RateLimited = 'RATE_LIMITED',
  /** SSE_MAX_PER_KEY or SSE_MAX event streams are already open: close one first. */
  TooManyStreams = 'TOO_MANY_STREAMS',
  /** A webhook whose X-Hub-Signature-256 does not match its body under GITHUB_WEBHOOK_SECRET. */
  InvalidSignature = 'INVALID_SIGNATURE',
  /** GITHUB_WEBHOOK_SECRET is not set, so webhooks cannot be verified and are refused. */
  WebhooksDisabled = 'WEBHOOKS_DISABLED',
  InternalError = 'INTERNAL_ERROR',
}

/** Every code an API error body can carry: the domain's and the HTTP layer's. */
export type ApiErrorCode = ErrorCode | HttpErrorCode;
export const API_ERROR_CODES: string[] = [...Object.values(ErrorCode), ...Object.values(HttpErrorCode)];

function assertUnreachable(value: never): never {
  throw new Error(`Unhandled error code ${String(value)}`);
}

/**
 * The HTTP status of each domain failure. Exhaustive: a new ErrorCode does not compile until it has a status here.
 */
export function statusOfDomainError(code: ErrorCode): number {
  switch (code) {
    case ErrorCode.ValidationFailed:
      return 400;
    case ErrorCode.NotFound:
      return 404;
    case ErrorCode.Conflict:
    case ErrorCode.IllegalTransition:
      return 409;
    case ErrorCode.ImageNotFound:
    case ErrorCode.ImagePullFailed:
    case ErrorCode.UnsupportedByEngine:
    case ErrorCode.GitHubNotConfigured:
    case ErrorCode.LabelsNotServed:
      // The request is well-formed but this engine cannot carry it out as asked.
      return 422;
    case ErrorCode.EngineRejected:
    case ErrorCode.GitHubRejected:
      return 502;
    case ErrorCode.EngineUnavailable:
    case ErrorCode.DatabaseUnavailable:
    case ErrorCode.GitHubUnavailable:
      return 503;
    case ErrorCode.Timeout:
      return 504;
    case ErrorCode.CapacityExhausted:
      return 429;
    case ErrorCode.NotPermitted:
      return 403;
    default:
      return assertUnreachable(code);
  }
}
