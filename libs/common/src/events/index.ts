export * from './event-publisher';
export * from './runnerhub-events';
