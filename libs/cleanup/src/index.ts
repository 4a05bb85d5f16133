export * from './cleanup-executor';
export * from './cleanup-policies';
export * from './cleanup.module';
export * from './cleanup.service';
export * from './retention/record-retention.service';
