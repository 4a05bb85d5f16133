export * from './container-state';
export * from './container-transitions';
