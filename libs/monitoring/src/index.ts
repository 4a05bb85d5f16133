export * from './container-health.checker';
export * from './container-stats.follower';
export * from './latest-usage.store';
export * from './monitoring.module';
export * from './running-containers';
export * from './usage-sampler.service';
