export * from './container-locks';
export * from './container-lifecycle.manager';
export * from './container-reconciler.service';
export * from './container-request';
export * from './container-spec.builder';
export * from './engine-state-sync';
export * from './lifecycle.module';
export * from './docker-profile';
