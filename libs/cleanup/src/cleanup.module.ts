import { DockerModule } from '@app/docker';
import { LifecycleModule } from '@app/lifecycle';
import { PersistenceModule } from '@app/persistence';
import { Module } from '@nestjs/common';
import { CleanupExecutor } from './cleanup-executor';
import { CleanupInventory } from './cleanup-inventory';
import { CleanupScheduler } from './cleanup.scheduler';
import { CleanupService } from './cleanup.service';

/**
 * The cleanup policies and their scheduler. Needs AppConfig, EventEmitterModule and ScheduleModule from the
 * application.
 */
@Module({
  imports: [DockerModule, PersistenceModule, LifecycleModule],
  providers: [CleanupInventory, CleanupExecutor, CleanupService, CleanupScheduler],
  exports: [CleanupService],
})
export class CleanupModule {}
