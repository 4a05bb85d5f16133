import { randomUUID } from 'node:crypto';
import { IncomingMessage, ServerResponse } from 'node:http';
import { AppConfig } from '@app/common';
import { redactSecrets } from '@app/orchestration';
import { type LogFn, type Logger, stdSerializers } from 'pino';
import type { Options } from 'pino-http';

const REQUEST_ID_HEADER = 'x-request-id';
const SAFE_REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/** Fields of logged objects that hold credentials whatever their shape: headers and the runner credentials. */
const REDACTED_PATHS = [
  'req.headers.authorization',
  'req.headers["proxy-authorization"]',
  'req.headers.cookie',
  'req.headers["x-hub-signature-256"]',
  'req.headers["x-hub-signature"]',
  'res.headers["set-cookie"]',
  ...['encodedJitConfig', 'encoded_jit_config', 'jitConfig', 'token', 'registrationToken'].flatMap((field) => [
    field,
    `*.${field}`,
  ]),
];

/**
 * How RunnerHub logs, for pino-http (and through nestjs-pino every Nest Logger). Credentials are redacted before
 * anything is written: known fields by path, and every message, error and request URL by the shapes of GitHub's
 * credentials (redactSecrets), so that a JIT configuration or a registration token quoted in an error message never
 * reaches log storage, whichever part of RunnerHub wrote the line.
 */
export function pinoHttpOptions(config: AppConfig): Options {
  return {
    level: config.log.level,
    transport:
      config.log.format === 'pretty'
        ? { target: 'pino-pretty', options: { singleLine: true, translateTime: 'SYS:HH:MM:ss.l' } }
        : undefined,
    genReqId: (req: IncomingMessage, res: ServerResponse) => {
      const offered = req.headers[REQUEST_ID_HEADER];
      const id = typeof offered === 'string' && SAFE_REQUEST_ID.test(offered) ? offered : randomUUID();
      res.setHeader(REQUEST_ID_HEADER, id);
      return id;
    },
    redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
    hooks: { logMethod: redactArguments },
    // Each request's line carries a summary of it rather than pino's full serialisation (every header, then the
    // redaction of the credential-bearing ones): bench:api measured that at a tenth of what a read costs.
    wrapSerializers: false,
    serializers: { err: redactError, req: summarizeRequest, res: summarizeResponse },
    // Health probes every few seconds would drown everything else at info level.
    autoLogging: { ignore: (req: IncomingMessage) => req.url?.startsWith('/health') ?? false },
  };
}

/** Every string handed to the logger goes through the redactor: messages are text, often quoting what failed. */
function redactArguments(this: Logger, args: Parameters<LogFn>, method: LogFn): void {
  const redacted = args.map((arg: unknown) => (typeof arg === 'string' ? redactSecrets(arg) : arg));
  method.apply(this, redacted as Parameters<LogFn>);
}

/** An error as pino serialises it, with its message and stack redacted: they quote what failed. */
function redactError(error: Error): unknown {
  const serialized = stdSerializers.err(error) as unknown;
  if (serialized === null || typeof serialized !== 'object') return redactText(serialized);
  return {
    ...serialized,
    message: redactText((serialized as Record<string, unknown>).message),
    stack: redactText((serialized as Record<string, unknown>).stack),
  };
}

/**
 * What a request's log line tells of it: its id, method, URL (redacted: a caller writes it, query included) and the
 * client's address. No headers: the ones that matter to an operator are in the URL and the response; the others carry
 * credentials.
 */
function summarizeRequest(request: IncomingMessage & { id?: unknown; originalUrl?: string }): Record<string, unknown> {
  return {
    id: request.id,
    method: request.method,
    url: redactText(request.originalUrl ?? request.url),
    remoteAddress: request.socket?.remoteAddress,
  };
}

function summarizeResponse(response: ServerResponse): Record<string, unknown> {
  return { statusCode: response.statusCode };
}

/** Strings, and the strings inside arrays and plain objects (a parsed query string nests at most a few levels). */
function redactText(value: unknown, depth = 0): unknown {
  if (typeof value === 'string') return redactSecrets(value);
  if (depth > 4 || value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) return value.map((item) => redactText(item, depth + 1));
  return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, redactText(item, depth + 1)]));
}
