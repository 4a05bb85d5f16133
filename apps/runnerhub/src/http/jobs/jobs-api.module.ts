import { OrchestrationModule } from '@app/orchestration';
import { Module } from '@nestjs/common';
import { JobsController } from './jobs.controller';

/** /api/jobs: the job queue, through the ContainerOrchestrator. */
@Module({
  imports: [OrchestrationModule],
  controllers: [JobsController],
})
export class JobsApiModule {}
