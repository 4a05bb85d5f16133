import { createHmac, timingSafeEqual } from 'node:crypto';
import { AppConfig } from '@app/common';
import { Injectable } from '@nestjs/common';
import { HttpErrorCode } from '../api-error-code';
import { ApiHttpError } from '../api-http.error';

const SIGNATURE = /^sha256=([0-9a-f]{64})$/i;

/**
 * Checks `X-Hub-Signature-256` the way GitHub documents it: HMAC-SHA256 of the exact bytes received, keyed with the
 * webhook secret, compared in constant time. Without GITHUB_WEBHOOK_SECRET nothing can be verified, so every
 * delivery is refused rather than trusted.
 */
@Injectable()
export class GitHubSignatureVerifier {
  private readonly secret: string | undefined;

  constructor(config: AppConfig) {
    this.secret = config.github.webhookSecret;
  }

  verify(rawBody: Buffer | undefined, signatureHeader: string | undefined): void {
    if (!this.secret) {
      throw new ApiHttpError(
        403,
        HttpErrorCode.WebhooksDisabled,
        'Webhooks are disabled: set GITHUB_WEBHOOK_SECRET here and the same secret in the GitHub webhook settings',
      );
    }
    const given = SIGNATURE.exec(signatureHeader ?? '')?.[1];
    if (!given || !rawBody) throw invalid('the X-Hub-Signature-256 header is missing or not sha256=<64 hex digits>');
    const expected = createHmac('sha256', this.secret).update(rawBody).digest();
    if (!timingSafeEqual(expected, Buffer.from(given, 'hex'))) {
      throw invalid('X-Hub-Signature-256 does not match the body signed with GITHUB_WEBHOOK_SECRET');
    }
  }
}

function invalid(why: string): ApiHttpError {
  return new ApiHttpError(401, HttpErrorCode.InvalidSignature, `Webhook refused: ${why}`);
}
