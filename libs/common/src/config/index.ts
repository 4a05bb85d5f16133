export * from './app-config';
export * from './app-config.module';
export * from './environment.dto';
export * from './engine-settings';
export * from './runner-pools';
