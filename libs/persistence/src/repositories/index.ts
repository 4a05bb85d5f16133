export * from './api-key.repository';
export * from './audit-log.repository';
export * from './container-record.repository';
export * from './job.repository';
export * from './github-delivery.repository';
export * from './runner.repository';
export * from './container-stats.repository';
export * from './engine.repository';
