import { STATUS_CODES } from 'node:http';
import { DomainError, ErrorCode } from '@app/common';
import { redactSecrets } from './secret.redactor';

/** How Octokit reports a failed call: its RequestError, read by shape so that no Octokit internals are imported. */
export interface GitHubHttpError extends Error {
  status: number;
  /** Absent when GitHub never answered (timeout, connection refused or reset): Octokit then reports status 500. */
  response?: { status: number; headers: Record<string, string | number | undefined>; data: unknown };
}

export function isGitHubHttpError(error: unknown): error is GitHubHttpError {
  return error instanceof Error && typeof (error as Partial<GitHubHttpError>).status === 'number';
}

export interface GitHubCallContext {
  /** What was asked, worded to follow "GitHub refused": "the runner registration for octo-org/app". */
  operation: string;
  /** What an operator should check when GitHub does not accept the credentials (a 401). */
  credentialsHint: string;
  /** Values that must never reach a message even if GitHub echoed them: the configured token, the App's key. */
  secrets: ReadonlyArray<string | undefined>;
  details?: Record<string, unknown>;
}

const MAX_GITHUB_MESSAGE = 300;

/**
 * Turns a failed GitHub call into the DomainError callers act on: GitHubUnavailable for what another try may fix
 * (no answer, a 5xx, a rate limit), GitHubRejected for what it will not (any other 4xx). The message quotes what
 * GitHub said, so the person reading a failed job sees "403 Resource not accessible by integration" rather than a
 * bare status; everything quoted is passed through {@link redactSecrets} first.
 */
export function toGitHubError(error: unknown, context: GitHubCallContext): Error {
  if (error instanceof DomainError) return error;
  if (!isGitHubHttpError(error)) return error instanceof Error ? error : new Error(String(error));

  const { operation, secrets } = context;
  if (!error.response) {
    const why = redactSecrets(error.message, secrets);
    return new DomainError(ErrorCode.GitHubUnavailable, `GitHub did not answer ${operation}: ${why}`, {
      ...context.details,
    });
  }

  const { status, headers, data } = error.response;
  const githubMessage = redactSecrets(messageOf(status, data), secrets);
  const requestId = headers['x-github-request-id'];
  const details = {
    ...context.details,
    status,
    githubMessage,
    ...(requestId !== undefined ? { githubRequestId: String(requestId) } : {}),
  };
  if (status >= 500) {
    return new DomainError(
      ErrorCode.GitHubUnavailable,
      `GitHub failed ${operation}: ${status} ${githubMessage}`,
      details,
    );
  }
  if (isRateLimited(status, headers, githubMessage)) {
    // A passing condition, not a refusal: the job's own retries, with their back-off, are the right answer.
    return new DomainError(
      ErrorCode.GitHubUnavailable,
      `GitHub rate-limited ${operation}: ${status} ${githubMessage}`,
      details,
    );
  }
  const hint = status === 401 ? ` (${context.credentialsHint})` : '';
  return new DomainError(
    ErrorCode.GitHubRejected,
    `GitHub refused ${operation}: ${status} ${githubMessage}${hint}`,
    details,
  );
}

/** GitHub's own words: `message`, with the reasons of a 422 (`errors`) when it gives them. */
export function messageOf(status: number, data: unknown): string {
  let text: string | undefined;
  if (isRecord(data) && typeof data.message === 'string') {
    const reasons = Array.isArray(data.errors) ? data.errors.map(reasonOf).filter((r) => r !== '') : [];
    text = reasons.length > 0 ? `${data.message} (${reasons.join('; ')})` : data.message;
  } else if (typeof data === 'string' && data.trim() !== '') {
    text = data.trim();
  }
  text = (text ?? STATUS_CODES[status] ?? 'Unknown error').replace(/\s+/g, ' ');
  return text.length > MAX_GITHUB_MESSAGE ? `${text.slice(0, MAX_GITHUB_MESSAGE)}...` : text;
}

function reasonOf(item: unknown): string {
  if (typeof item === 'string') return item;
  if (!isRecord(item)) return '';
  if (typeof item.message === 'string') return item.message;
  return [item.field, item.code].filter((part) => typeof part === 'string').join(' ');
}

/** Primary (remaining 0) and secondary (retry-after, "secondary rate limit") limits, as GitHub documents them. */
function isRateLimited(status: number, headers: Record<string, string | number | undefined>, message: string): boolean {
  if (status === 429) return true;
  if (status !== 403) return false;
  return (
    String(headers['x-ratelimit-remaining']) === '0' ||
    headers['retry-after'] !== undefined ||
    /rate limit/i.test(message)
  );
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
