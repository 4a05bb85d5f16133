export * from './pool-handoff.service';
export * from './pool-runner.factory';
export * from './runner-pool.keeper';
export * from './runner-pools';
export * from './runner-pool.status';
