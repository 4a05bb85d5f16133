import { AppConfig, AppConfigModule } from '@app/common';
import { DockerModule } from '@app/docker';
import { FleetModule } from '@app/fleet';
import { CleanupModule } from '@app/cleanup';
import { LifecycleModule } from '@app/lifecycle';
import { MonitoringModule } from '@app/monitoring';
import { MetricsModule } from '@app/monitoring/metrics';
import { OrchestrationModule } from '@app/orchestration';
import { PersistenceModule } from '@app/persistence';
import { DynamicModule, Module } from '@nestjs/common';
import { EventEmitterModule } from '@nestjs/event-emitter';
import { ScheduleModule } from '@nestjs/schedule';
import { HealthModule } from './health/health.module';
import { MetricsController } from './metrics/metrics.controller';
import { ApiModule } from './http/api.module';
import { LoggingModule } from './logging/logging.module';

/**
 * The HTTP service. Built from an already validated configuration, so nothing below reads the environment and a test
 * can start a whole service on a configuration of its own.
 */
@Module({})
export class AppModule {
  static register(config: AppConfig): DynamicModule {
    return {
      module: AppModule,
      imports: [
        AppConfigModule.forRoot(config),
        LoggingModule,
        EventEmitterModule.forRoot({ wildcard: true, delimiter: ':' }),
        ScheduleModule.forRoot(),
        PersistenceModule,
        DockerModule,
        FleetModule,
        LifecycleModule,
        OrchestrationModule,
        MonitoringModule,
        MetricsModule.forRoot({ controller: MetricsController }),
        CleanupModule,
        HealthModule,
        ApiModule,
      ],
    };
  }
}
