import { LifecycleModule } from '@app/lifecycle';
import { MonitoringModule } from '@app/monitoring';
import { Module } from '@nestjs/common';
import { ContainerUsageService } from './container-usage.service';
import { ContainersController } from './containers.controller';

/** /api/containers: the runner containers, through the lifecycle manager. */
@Module({
  imports: [LifecycleModule, MonitoringModule],
  controllers: [ContainersController],
  providers: [ContainerUsageService],
})
export class ContainersApiModule {}
