import { DockerModule } from '@app/docker';
import { LifecycleModule } from '@app/lifecycle';
import { PersistenceModule } from '@app/persistence';
import { Module } from '@nestjs/common';
import { CleanupExecutor } from './cleanup-executor';
import { CleanupInventory } from './cleanup-inventory';
import { CleanupScheduler } from './cleanup.scheduler';
import { CleanupService } from './cleanup.service';
import { RecordRetention } from './retention/record-retention.service';
import { RetentionScheduler } from './retention/retention.scheduler';

/**
 * The cleanup policies and their scheduler, and the retention job that prunes old records (audit entries, webhook
 * delivery receipts, resource samples). Needs AppConfig, EventEmitterModule and ScheduleModule from the
 * application.
 */
@Module({
  imports: [DockerModule, PersistenceModule, LifecycleModule],
  providers: [CleanupInventory, CleanupExecutor, CleanupService, CleanupScheduler, RecordRetention, RetentionScheduler],
  exports: [CleanupService, RecordRetention],
})
export class CleanupModule {}
