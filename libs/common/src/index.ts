export * from './concurrency';
export * from './config';
export * from './errors';
export * from './events';
export * from './jobs';
export * from './lifecycle';
