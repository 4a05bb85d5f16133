export * from './engine-catalog';
export * from './engine-change.notifier';
export * from './engine-definitions';
export * from './engine-occupancy';
export * from './engine-prober';
export * from './fleet-overview';
export * from './fleet.module';
