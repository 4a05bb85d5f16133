import { ApiKeyEntity } from './api-key.entity';
import { AuditLogEntryEntity } from './audit-log-entry.entity';
import { ContainerRecordEntity } from './container-record.entity';
import { ContainerTransitionEntity } from './container-transition.entity';
import { JobEntity } from './job.entity';

export * from './api-key.entity';
export * from './audit-log-entry.entity';
export * from './container-record.entity';
export * from './container-transition.entity';
export * from './job.entity';

export const ENTITIES = [
  ContainerRecordEntity,
  ContainerTransitionEntity,
  ApiKeyEntity,
  AuditLogEntryEntity,
  JobEntity,
];
