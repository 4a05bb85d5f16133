import { ApiKeyEntity } from './api-key.entity';
import { AuditLogEntryEntity } from './audit-log-entry.entity';
import { ContainerRecordEntity } from './container-record.entity';
import { ContainerStatsSampleEntity } from './container-stats-sample.entity';
import { ContainerTransitionEntity } from './container-transition.entity';
import { EngineEntity } from './engine.entity';
import { GitHubDeliveryEntity } from './github-delivery.entity';
import { JobEntity } from './job.entity';
import { RunnerEntity } from './runner.entity';

export * from './api-key.entity';
export * from './audit-log-entry.entity';
export * from './container-record.entity';
export * from './container-stats-sample.entity';
export * from './container-transition.entity';
export * from './engine.entity';
export * from './github-delivery.entity';
export * from './job.entity';
export * from './runner.entity';

export const ENTITIES = [
  ContainerRecordEntity,
  ContainerTransitionEntity,
  ApiKeyEntity,
  AuditLogEntryEntity,
  JobEntity,
  RunnerEntity,
  GitHubDeliveryEntity,
  ContainerStatsSampleEntity,
  EngineEntity,
];
