import { ContainerOrchestrator } from '@app/orchestration';
import { Controller, Headers, HttpCode, Post, Req } from '@nestjs/common';
import { ApiHeader, ApiOperation, ApiTags } from '@nestjs/swagger';
import { SkipThrottle } from '@nestjs/throttler';
import type { Request } from 'express';
import { ApiEnvelope, ApiFailures } from '../api-responses.decorator';
import { HttpErrorCode } from '../api-error-code';
import { ApiHttpError } from '../api-http.error';
import { Audited, Public } from '../auth/auth.decorators';
import { DeliveryReceiptDto } from './dto/delivery-receipt.dto';
import { GitHubSignatureVerifier } from './github-signature.verifier';
import { envelope, Envelope } from '../response-envelope';

const DELIVERY_ID = /^[A-Za-z0-9-]{1,64}$/;
const EVENT_NAME = /^[a-z_]{1,64}$/;

/**
 * GitHub's webhooks. No API key: the signature over the raw body is the credential. Not rate limited, since GitHub
 * does not redeliver on its own and a dropped `queued` delivery would be a job that never gets a runner.
 */
@ApiTags('webhooks')
@Controller('webhooks')
export class WebhooksController {
  constructor(
    private readonly verifier: GitHubSignatureVerifier,
    private readonly orchestrator: ContainerOrchestrator,
  ) {}

  @Post('github')
  @Public()
  @SkipThrottle()
  @HttpCode(202)
  @Audited('webhook.github')
  @ApiOperation({
    summary: 'Receive a GitHub webhook (workflow_job), verified with HMAC-SHA256',
    description:
      'Configure the repository or organisation webhook with content type application/json, the secret of ' +
      'GITHUB_WEBHOOK_SECRET and the "Workflow jobs" event. `queued` queues a job of a repository ' +
      'REPOSITORIES_ALLOWED allows whose labels this RunnerHub serves (others are acknowledged and ignored, the ' +
      'receipt saying why), `in_progress` marks it running, `completed` finishes it. ' +
      'A delivery id seen before is acknowledged without doing anything again.',
  })
  @ApiHeader({ name: 'X-GitHub-Event', required: true })
  @ApiHeader({ name: 'X-GitHub-Delivery', required: true })
  @ApiHeader({ name: 'X-Hub-Signature-256', required: true })
  @ApiEnvelope(DeliveryReceiptDto, { status: 202, description: 'Accepted (or ignored, or a duplicate)' })
  @ApiFailures(400, 403)
  async receiveGitHubWebhook(
    @Req() request: Request & { rawBody?: Buffer },
    @Headers('x-hub-signature-256') signature: string | undefined,
    @Headers('x-github-event') event: string | undefined,
    @Headers('x-github-delivery') deliveryId: string | undefined,
  ): Promise<Envelope<DeliveryReceiptDto>> {
    this.verifier.verify(request.rawBody, signature);
    if (!deliveryId || !DELIVERY_ID.test(deliveryId) || !event || !EVENT_NAME.test(event)) {
      throw new ApiHttpError(
        400,
        HttpErrorCode.MalformedRequest,
        'A GitHub webhook needs the X-GitHub-Delivery (a GUID) and X-GitHub-Event headers',
      );
    }
    return envelope(await this.orchestrator.receiveWebhook({ deliveryId, event, payload: payloadOf(request) }));
  }
}

/** GitHub sends JSON, or with the form content type the same JSON in a `payload` field. */
function payloadOf(request: Request): unknown {
  const body = request.body as unknown;
  if (request.is('application/x-www-form-urlencoded') && typeof (body as { payload?: unknown })?.payload === 'string') {
    try {
      return JSON.parse((body as { payload: string }).payload);
    } catch {
      throw new ApiHttpError(400, HttpErrorCode.MalformedRequest, 'The payload field is not JSON');
    }
  }
  return body;
}
