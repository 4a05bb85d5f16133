export * from './container-labels';
export * from './container-state';
export * from './container-transitions';
