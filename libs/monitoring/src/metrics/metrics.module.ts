import { ENGINE_CALL_OBSERVER } from '@app/docker';
import { PersistenceModule } from '@app/persistence';
import { DynamicModule, Module, Type } from '@nestjs/common';
import { PrometheusModule } from '@willsoto/nestjs-prometheus';
import { Registry } from 'prom-client';
import { MonitoringModule } from '../monitoring.module';
import { ContainerUsageCollector } from './container-usage.collector';
import { DutyLeadershipCollector } from './duty-leadership.collector';
import { EngineCallMetrics } from './engine-call.metrics';
import { MetricsEventsListener } from './metrics-events.listener';
import { METRICS_REGISTRY } from './metrics.tokens';
import { RunnerHubMetrics } from './runnerhub-metrics';
import { StateCountsCollector } from './state-counts.collector';
import { PoolRunnersCollector } from './pool-runners.collector';

export interface MetricsModuleOptions {
  /**
   * The controller that serves the registry (GET /metrics). It is the application's: libraries know nothing of HTTP.
   * It gets the registry by injecting METRICS_REGISTRY.
   */
  controller: Type<unknown>;
  /** Where the controller is mounted; `/metrics` by default. */
  path?: string;
}

/**
 * RunnerHub's Prometheus metrics: the process's default metrics, gauges read at scrape time (states counted in the
 * database, the latest resource samples), and series fed by events and by DockerEngine's calls. Register it once per
 * application with forRoot(); it needs AppConfig, EventEmitterModule and ScheduleModule from the application, like
 * MonitoringModule, whose latest samples it reads.
 */
@Module({})
export class MetricsModule {
  static forRoot({ controller, path = '/metrics' }: MetricsModuleOptions): DynamicModule {
    // A registry per application rather than prom-client's global one, which @willsoto's metric providers use:
    // those return an existing metric of the same name, so a second application in the same process (every e2e
    // suite boots one per database) would get the first one's gauges, collecting from its closed database.
    const registry = new Registry();
    return {
      module: MetricsModule,
      // Global for two consumers outside this module's own imports: the controller, which PrometheusModule declares
      // and which injects the registry, and DockerEngine, which picks up the ENGINE_CALL_OBSERVER if one is visible.
      global: true,
      imports: [
        PersistenceModule,
        MonitoringModule,
        // Mounts the controller at `path` and collects prom-client's default (process) metrics into our registry.
        PrometheusModule.register({
          controller,
          path,
          defaultMetrics: { enabled: true, config: { register: registry } },
        }),
      ],
      providers: [
        { provide: METRICS_REGISTRY, useValue: registry },
        RunnerHubMetrics,
        MetricsEventsListener,
        StateCountsCollector,
        PoolRunnersCollector,
        ContainerUsageCollector,
        DutyLeadershipCollector,
        EngineCallMetrics,
        { provide: ENGINE_CALL_OBSERVER, useExisting: EngineCallMetrics },
      ],
      exports: [METRICS_REGISTRY, ENGINE_CALL_OBSERVER, RunnerHubMetrics],
    };
  }
}
