import { OrchestrationModule } from '@app/orchestration';
import { Module } from '@nestjs/common';
import { GitHubSignatureVerifier } from './github-signature.verifier';
import { WebhooksController } from './webhooks.controller';

/** /api/webhooks: deliveries from GitHub, verified, handed to the ContainerOrchestrator. */
@Module({
  imports: [OrchestrationModule],
  controllers: [WebhooksController],
  providers: [GitHubSignatureVerifier],
})
export class WebhooksApiModule {}
