export * from './actions.family';
export * from './custom.family';
export * from './myoung34.family';
export * from './runner-image-families';
export * from './runner-image-family';
