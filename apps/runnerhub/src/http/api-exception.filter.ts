import { AppConfig, DomainError, ErrorCode } from '@app/common';
import { ArgumentsHost, Catch, ExceptionFilter, HttpException, HttpStatus, Logger, Optional } from '@nestjs/common';
import type { Request, Response } from 'express';
import { ApiErrorCode, HttpErrorCode, statusOfDomainError } from './api-error-code';
import { ApiHttpError } from './api-http.error';

interface ErrorBody {
  status: number;
  code: ApiErrorCode;
  message: string;
  details: Record<string, unknown>;
}

/** body-parser's own failures, which reach the filter as plain errors with a `type`. */
const BODY_PARSER_ERRORS: Record<string, Omit<ErrorBody, 'message' | 'details'>> = {
  'entity.parse.failed': { status: 400, code: HttpErrorCode.MalformedRequest },
  'entity.too.large': { status: 413, code: HttpErrorCode.PayloadTooLarge },
  'encoding.unsupported': { status: 415, code: HttpErrorCode.UnsupportedMediaType },
  'charset.unsupported': { status: 415, code: HttpErrorCode.UnsupportedMediaType },
  'request.aborted': { status: 400, code: HttpErrorCode.MalformedRequest },
};

const HTTP_STATUS_CODES: Partial<Record<number, ApiErrorCode>> = {
  400: ErrorCode.ValidationFailed,
  401: HttpErrorCode.Unauthorized,
  403: HttpErrorCode.Forbidden,
  404: HttpErrorCode.RouteNotFound,
  405: HttpErrorCode.MethodNotAllowed,
  413: HttpErrorCode.PayloadTooLarge,
  415: HttpErrorCode.UnsupportedMediaType,
  429: HttpErrorCode.RateLimited,
};

/** Connection-level failures of the database drivers (node-postgres, PostgreSQL SQLSTATE class 08/57P). */
const DATABASE_DOWN =
  /ECONNREFUSED|ECONNRESET|ETIMEDOUT|Connection terminated|connect ETIMEDOUT|timeout exceeded when trying to connect|the database system is (starting up|shutting down)|terminating connection|Client has encountered a connection error|SQLITE_BUSY|database is locked/i;
const DATABASE_SQLSTATES = new Set(['08000', '08001', '08003', '08006', '57P01', '57P02', '57P03']);

/**
 * The one place errors become HTTP: every failure leaves as `{ success: false, error: { code, message, details } }`
 * with the status its code calls for. Anything not recognised is a logged 500 with a message that points at the log
 * by request id, never a stack trace or an internal message in the response.
 */
@Catch()
export class ApiExceptionFilter implements ExceptionFilter {
  private readonly logger = new Logger('Http');
  /** Where PostgreSQL listens, to recognise node-postgres's bare socket errors when it cannot be reached. */
  private readonly databasePort: number | null;

  constructor(@Optional() config?: AppConfig) {
    this.databasePort = config?.database.kind === 'postgres' ? Number(new URL(config.database.url).port || 5432) : null;
  }

  catch(exception: unknown, host: ArgumentsHost): void {
    const http = host.switchToHttp();
    const response = http.getResponse<Response>();
    const request = http.getRequest<Request & { id?: string }>();
    const body = this.describe(exception, request);
    if (body.status >= 500 && body.code === HttpErrorCode.InternalError) {
      this.logger.error(
        `Unhandled error on ${request.method} ${request.originalUrl} (request ${String(request.id)}): ` +
          `${exception instanceof Error ? (exception.stack ?? exception.message) : String(exception)}`,
      );
    }
    if (isHealthReport(exception)) {
      // /health/ready keeps terminus's report format, which probes and dashboards already read.
      response.status(exception.getStatus()).json(exception.getResponse());
      return;
    }
    if (response.headersSent) {
      // A stream (SSE, logs) was already under way: all that is left is to end it.
      response.end();
      return;
    }
    response.status(body.status).json({
      success: false,
      error: { code: body.code, message: body.message, details: body.details },
    });
  }

  /**
   * A socket error that reaches this filter raw is the database's: the engine's and GitHub's are DomainErrors by
   * the time they leave their libraries. node-postgres names the port when a connect fails, and nothing when an open
   * connection is reset under a query (`read ECONNRESET`), as when PostgreSQL restarts.
   */
  private isDatabaseSocketError(exception: unknown): boolean {
    if (this.databasePort === null) return false;
    return socketErrorPort(exception) === this.databasePort || isBrokenConnection(exception);
  }

  private describe(exception: unknown, request: Request & { id?: string }): ErrorBody {
    if (exception instanceof DomainError) {
      return {
        status: statusOfDomainError(exception.code),
        code: exception.code,
        message: exception.message,
        details: exception.details,
      };
    }
    if (exception instanceof ApiHttpError) {
      return {
        status: exception.getStatus(),
        code: exception.code,
        message: exception.message,
        details: exception.details,
      };
    }
    if (exception instanceof HttpException) {
      const status = exception.getStatus();
      const unparsable = status === 400 ? unparsableBody(exception) : undefined;
      if (unparsable) return unparsable;
      const message =
        status === 404
          ? `No route ${request.method} ${request.path}: see /api/docs for the routes`
          : (readMessage(exception.getResponse()) ?? exception.message);
      return {
        status,
        code: HTTP_STATUS_CODES[status] ?? (status >= 500 ? HttpErrorCode.InternalError : ErrorCode.ValidationFailed),
        message,
        details: {},
      };
    }
    const parserFailure = bodyParserFailure(exception);
    if (parserFailure) return parserFailure;
    if (isDatabaseUnavailable(exception) || this.isDatabaseSocketError(exception)) {
      return {
        status: HttpStatus.SERVICE_UNAVAILABLE,
        code: ErrorCode.DatabaseUnavailable,
        message: 'The database is not reachable; retry shortly',
        details: {},
      };
    }
    return {
      status: HttpStatus.INTERNAL_SERVER_ERROR,
      code: HttpErrorCode.InternalError,
      message: `Internal error; the service log has the details under request id ${String(request.id)}`,
      details: { requestId: request.id ?? null },
    };
  }
}

/**
 * node-postgres reports a refused or dropped connection as a bare socket error (`connect ECONNREFUSED 127.0.0.1:5432`)
 * with nothing naming the database but the port it tried.
 */
function socketErrorPort(exception: unknown): number | null {
  // Not `instanceof Error`: socket errors are made by Node's own realm, which is not always the caller's (Jest).
  if (typeof exception !== 'object' || exception === null) return null;
  const { code, port } = exception as { code?: unknown; port?: unknown };
  return typeof code === 'string' &&
    /^E(CONNREFUSED|CONNRESET|TIMEDOUT|PIPE|HOSTUNREACH)$/.test(code) &&
    typeof port === 'number'
    ? port
    : null;
}

/** An open connection that broke under a read or write: `read ECONNRESET`, `write EPIPE`, with no port named. */
function isBrokenConnection(exception: unknown): boolean {
  if (typeof exception !== 'object' || exception === null) return false;
  const { code, syscall, port } = exception as { code?: unknown; syscall?: unknown; port?: unknown };
  return (
    (code === 'ECONNRESET' || code === 'EPIPE') && (syscall === 'read' || syscall === 'write') && port === undefined
  );
}

function isHealthReport(exception: unknown): exception is HttpException {
  if (!(exception instanceof HttpException)) return false;
  const body = exception.getResponse();
  return typeof body === 'object' && body !== null && 'status' in body && 'details' in body && 'error' in body;
}

function readMessage(response: string | object): string | undefined {
  if (typeof response === 'string') return response;
  const message = (response as { message?: unknown }).message;
  return Array.isArray(message) ? message.join('; ') : typeof message === 'string' ? message : undefined;
}

/**
 * Nest turns body-parser's JSON SyntaxError into `new BadRequestException(err.message)` before any filter sees it,
 * so the parser's `type` is lost; JSON.parse's messages all name JSON, and nothing else of ours throws a bare 400.
 */
function unparsableBody(exception: HttpException): ErrorBody | undefined {
  const parserMessage = readMessage(exception.getResponse()) ?? '';
  if (!/\bJSON\b/.test(parserMessage)) return undefined;
  // Only the position is repeated: newer JSON.parse messages quote a piece of the body, which may hold a secret.
  const position = /position (\d+)/.exec(parserMessage)?.[1];
  const problem = position === undefined ? 'is not valid JSON' : `is not valid JSON (error at position ${position})`;
  return {
    status: 400,
    code: HttpErrorCode.MalformedRequest,
    message: `The request body ${problem}: send a JSON object with Content-Type: application/json`,
    details: { problems: [{ field: 'body', message: problem }] },
  };
}

function bodyParserFailure(exception: unknown): ErrorBody | undefined {
  const type = (exception as { type?: unknown } | null)?.type;
  if (typeof type !== 'string' || !BODY_PARSER_ERRORS[type]) return undefined;
  const known = BODY_PARSER_ERRORS[type];
  const message =
    type === 'entity.parse.failed'
      ? 'The request body is not valid JSON: send a JSON object with Content-Type: application/json'
      : type === 'entity.too.large'
        ? 'The request body is too large (the limit is 100 kB)'
        : `The request body could not be read: ${(exception as Error).message}`;
  return { ...known, message, details: {} };
}

/** TypeORM's words for a connection it lost under a query (PostgreSQL restarted while a transaction began). */
const LOST_QUERY_RUNNER = new Set(['QueryRunnerAlreadyReleasedError', 'ConnectionIsNotSetError']);

function isDatabaseUnavailable(exception: unknown): boolean {
  if (!(exception instanceof Error)) return false;
  if (LOST_QUERY_RUNNER.has(exception.name) || LOST_QUERY_RUNNER.has(exception.constructor.name)) return true;
  const code =
    (exception as { code?: unknown }).code ?? (exception as { driverError?: { code?: unknown } }).driverError?.code;
  if (typeof code === 'string' && DATABASE_SQLSTATES.has(code)) return true;
  const driverMessage = (exception as { driverError?: { message?: string } }).driverError?.message ?? '';
  return (
    DATABASE_DOWN.test(`${exception.message} ${driverMessage}`) &&
    /TypeORM|QueryFailed|Driver|pg|Connection|sqlite/i.test(
      `${exception.name} ${exception.constructor.name} ${exception.message}`,
    )
  );
}
