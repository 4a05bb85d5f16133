import { AppConfig, EventPublisher } from '@app/common';
import { DockerModule } from '@app/docker';
import { PersistenceModule } from '@app/persistence';
import { Module } from '@nestjs/common';
import { ApiContainerCreator } from './api-container.creator';
import { ContainerBulkRemover } from './container-bulk-remover';
import { ContainerLifecycleManager } from './container-lifecycle.manager';
import { ContainerLocks } from './container-locks';
import { ContainerReconciler } from './container-reconciler.service';
import { ContainerSpecBuilder } from './container-spec.builder';
import { DiskQuotaSupport } from './disk-quota-support';
import { DOCKER_DAEMON_SIDECAR_OPTIONS, DockerDaemonSidecarOptions, RunnerDaemons } from './docker-profile';
import { EngineAvailability } from './engine-availability';
import { EngineStateSync } from './engine-state-sync';
import { HostBindMounts } from './host-bind-mounts';
import { SecurityLooseningsReporter } from './security-loosenings.reporter';
import { TransitionRecorder } from './transition-recorder';

/**
 * The container lifecycle: the manager that owns every runner container, and the reconciler that keeps its records
 * in step with the engine. Needs AppConfig and EventEmitterModule from the application.
 */
@Module({
  imports: [DockerModule, PersistenceModule],
  providers: [
    EventPublisher,
    ContainerLocks,
    HostBindMounts,
    ContainerSpecBuilder,
    DiskQuotaSupport,
    EngineAvailability,
    TransitionRecorder,
    EngineStateSync,
    {
      provide: DOCKER_DAEMON_SIDECAR_OPTIONS,
      useFactory: (config: AppConfig): Partial<DockerDaemonSidecarOptions> => ({
        image: config.runners.dind.image,
        privileged: config.runners.dind.privileged,
      }),
      inject: [AppConfig],
    },
    RunnerDaemons,
    ContainerLifecycleManager,
    ContainerBulkRemover,
    ApiContainerCreator,
    ContainerReconciler,
    SecurityLooseningsReporter,
  ],
  exports: [
    ContainerLifecycleManager,
    ContainerBulkRemover,
    ApiContainerCreator,
    ContainerReconciler,
    EngineStateSync,
    EventPublisher,
    RunnerDaemons,
  ],
})
export class LifecycleModule {}
