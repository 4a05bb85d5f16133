import { DomainError, ErrorCode } from '@app/common';

/** What the failed call was about, so that the message can name the thing the reader has to look at. */
export interface EngineCallContext {
  /** The engine, as describeEndpoint() prints it. */
  endpoint: string;
  /** e.g. 'create container', 'inspect container', 'exec'. */
  operation: string;
  containerId?: string;
  image?: string;
}

/** Connection-level failures: the engine never answered, whatever the request was. */
const UNREACHABLE_CODES = new Set([
  'ENOENT',
  'EACCES',
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EAI_AGAIN',
  'ENOTFOUND',
  'ABORT_ERR',
  'ERR_STREAM_PREMATURE_CLOSE',
]);

/**
 * Engine refusals that mean "this engine cannot do that here" rather than "the request is wrong": the caller should
 * drop the option or pick another engine, not retry. The storage-opt one is what overlay2 on ext4 answers.
 */
const UNSUPPORTED_PATTERNS = [
  /--storage-opt/i,
  /storage.?opt.*(not supported|unsupported|only)/i,
  /\bis supported only\b/i,
  /\bnot supported\b/i,
  /\bunsupported\b/i,
  /kernel does not support/i,
];

interface ModemError extends Error {
  statusCode?: number;
  reason?: string;
  json?: unknown;
  code?: string;
}

/**
 * The single translation from whatever dockerode or the socket threw into a DomainError a caller can act on. The
 * engine's own words always travel in details.engineMessage. Errors that are neither from the engine nor from the
 * connection (a bug here, say) are returned unchanged, so they are not disguised as engine trouble.
 */
export function mapEngineError(error: unknown, context: EngineCallContext): Error {
  if (error instanceof DomainError) return error;
  // Duck-typed: errors from Node's own modules can come from another realm (Jest runs tests in a VM context, for
  // one), where `instanceof Error` is false for a perfectly ordinary socket error.
  if (!isErrorLike(error)) return mapEngineError(new Error(String(error)), context);
  const failure = error as ModemError;

  if (typeof failure.statusCode === 'number')
    return fromStatus(failure.statusCode, engineMessageOf(failure), context, error);
  if (isUnreachable(failure)) {
    return new DomainError(
      ErrorCode.EngineUnavailable,
      `Docker engine at ${context.endpoint} is not reachable: ${describeConnectionFailure(failure, context)}`,
      { endpoint: context.endpoint, operation: context.operation, code: failure.code, engineMessage: failure.message },
      { cause: error },
    );
  }
  return error;
}

function fromStatus(status: number, engineMessage: string, context: EngineCallContext, cause: Error): DomainError {
  const details = { endpoint: context.endpoint, operation: context.operation, statusCode: status, engineMessage };
  if (status === 404 && (/no such image/i.test(engineMessage) || (context.image && !context.containerId))) {
    const image = context.image ?? imageFromMessage(engineMessage) ?? 'the requested image';
    return new DomainError(
      ErrorCode.ImageNotFound,
      `Image ${image} is not present on the Docker engine at ${context.endpoint}. A container made through the API ` +
        `uses images already on the engine (runners of jobs are pulled per RUNNER_IMAGE_PULL): pull or load it ` +
        `onto the engine first (\`docker pull\`, \`docker load\`).`,
      { ...details, image },
      { cause },
    );
  }
  if (status === 404) {
    const target = context.containerId ? `Container ${context.containerId}` : 'The requested object';
    return new DomainError(
      ErrorCode.NotFound,
      `${target} does not exist on the Docker engine at ${context.endpoint} (${context.operation}).`,
      { ...details, containerId: context.containerId },
      { cause },
    );
  }
  if (status === 409) {
    return new DomainError(
      ErrorCode.Conflict,
      `Docker engine refused to ${context.operation}: ${engineMessage}`,
      details,
      {
        cause,
      },
    );
  }
  if ((status === 400 || status === 500) && UNSUPPORTED_PATTERNS.some((pattern) => pattern.test(engineMessage))) {
    return new DomainError(
      ErrorCode.UnsupportedByEngine,
      `Docker engine at ${context.endpoint} cannot ${context.operation} as requested: ${engineMessage}`,
      details,
      { cause },
    );
  }
  return new DomainError(
    ErrorCode.EngineRejected,
    `Docker engine rejected ${context.operation} (HTTP ${status}): ${engineMessage || 'no reason given'}`,
    details,
    { cause },
  );
}

/** docker-modem keeps the engine's body in json: `{ message }` normally, a Buffer or text when the body is not JSON. */
function engineMessageOf(failure: ModemError): string {
  const body = failure.json;
  if (body && typeof body === 'object' && 'message' in body && typeof body.message === 'string') return body.message;
  if (typeof body === 'string' && body.trim()) return body.trim();
  if (Buffer.isBuffer(body) && body.length > 0) return body.toString('utf8').trim();
  // The modem's own message is "(HTTP code 404) no such container - <engine message> ": keep only the engine's part.
  const match = /^\(HTTP code \d+\) [^-]*- (.*)$/s.exec(failure.message);
  return (match ? match[1] : failure.message).trim();
}

function isErrorLike(value: unknown): value is Error {
  return typeof value === 'object' && value !== null && typeof (value as { message?: unknown }).message === 'string';
}

function imageFromMessage(message: string): string | undefined {
  return /no such image: ([^\s:]+(?::[^\s:]+)?)/i.exec(message)?.[1];
}

function isUnreachable(failure: ModemError): boolean {
  return (
    (failure.code !== undefined && UNREACHABLE_CODES.has(failure.code)) ||
    failure.name === 'AbortError' ||
    /socket hang up/i.test(failure.message)
  );
}

function describeConnectionFailure(failure: ModemError, context: EngineCallContext): string {
  const socket = context.endpoint.startsWith('unix://') ? context.endpoint.slice('unix://'.length) : undefined;
  switch (failure.code) {
    case 'ENOENT':
      return socket ? `the socket ${socket} does not exist (is dockerd running?)` : failure.message;
    case 'EACCES':
      return `permission denied on ${socket ?? context.endpoint} (the process needs to be root or in the docker group)`;
    case 'ECONNREFUSED':
      return `connection refused (${failure.message})`;
    default:
      return failure.message;
  }
}
