export * from './container-record.repository';
