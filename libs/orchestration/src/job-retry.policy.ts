import { AppConfig, DomainError, ErrorCode } from '@app/common';
import { Injectable } from '@nestjs/common';

export type RetryDecision = { retry: true; availableAt: Date; reason: string } | { retry: false; reason: string };

/** Failures that another try cannot fix: they need an operator or a different request. */
const PERMANENT: ReadonlySet<ErrorCode> = new Set([
  ErrorCode.ValidationFailed,
  ErrorCode.ImageNotFound,
  ErrorCode.UnsupportedByEngine,
  ErrorCode.GitHubNotConfigured,
  ErrorCode.GitHubRejected,
  ErrorCode.LabelsNotServed,
]);

/**
 * A pull the registry refused (bad credentials, no such image) fails the same way every time; one that could not
 * reach the registry may work a little later.
 */
function isPermanent(error: DomainError): boolean {
  if (error.code === ErrorCode.ImagePullFailed) return error.details.reason !== 'unreachable';
  return PERMANENT.has(error.code);
}

/**
 * What happens when a runner could not be started for a job: a passing failure (GitHub or the engine not answering)
 * is tried again after a back-off that doubles (JOB_RETRY_BACKOFF_MS, 2x, 4x...), up to JOB_MAX_ATTEMPTS tries in
 * all; a permanent one, or the last try, fails the job with the reason.
 */
@Injectable()
export class JobRetryPolicy {
  constructor(private readonly config: AppConfig) {}

  decide(attempt: number, error: unknown, now = new Date()): RetryDecision {
    const { maxAttempts, retryBackoffMs } = this.config.orchestration;
    const message = error instanceof Error ? error.message : String(error);
    if (error instanceof DomainError && isPermanent(error)) return { retry: false, reason: message };
    if (attempt >= maxAttempts) return { retry: false, reason: `gave up after ${attempt} tries: ${message}` };
    return {
      retry: true,
      availableAt: new Date(now.getTime() + retryBackoffMs * 2 ** (attempt - 1)),
      reason: `try ${attempt} of ${maxAttempts} failed: ${message}`,
    };
  }
}
