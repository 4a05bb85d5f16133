export * from './engine-load';
export * from './engine-placement';
export * from './runner-placement-need';
