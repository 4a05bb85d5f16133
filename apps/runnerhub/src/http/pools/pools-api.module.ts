import { OrchestrationModule } from '@app/orchestration';
import { Module } from '@nestjs/common';
import { PoolsController } from './pools.controller';

/** /api/pools: the warm pools of idle runners, through libs/orchestration. */
@Module({
  imports: [OrchestrationModule],
  controllers: [PoolsController],
})
export class PoolsApiModule {}
