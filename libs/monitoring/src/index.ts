export * from './container-health.checker';
export * from './latest-usage.store';
export * from './monitoring.module';
export * from './running-containers';
export * from './usage-sampler.service';
