import { DockerModule } from '@app/docker';
import { LifecycleModule } from '@app/lifecycle';
import { PersistenceModule } from '@app/persistence';
import { Module } from '@nestjs/common';
import { ContainerHealthChecker } from './container-health.checker';
import { ContainerStatsFollower } from './container-stats.follower';
import { LatestUsageStore } from './latest-usage.store';
import { MonitoringScheduler } from './monitoring.scheduler';
import { ResourceAlerts } from './resource-alerts.service';
import { UsageSampler } from './usage-sampler.service';

/**
 * Live resource usage, health checks and alerts. Needs AppConfig, EventEmitterModule and ScheduleModule from the
 * application. The latest samples are exported for the API and the metrics.
 */
@Module({
  imports: [DockerModule, PersistenceModule, LifecycleModule],
  providers: [
    LatestUsageStore,
    ResourceAlerts,
    UsageSampler,
    ContainerStatsFollower,
    ContainerHealthChecker,
    MonitoringScheduler,
  ],
  exports: [LatestUsageStore, UsageSampler, ContainerHealthChecker],
})
export class MonitoringModule {}
