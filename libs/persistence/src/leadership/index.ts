export * from './advisory-lock.leadership';
export * from './duties';
export * from './duty-leadership';
export * from './sqlite-process.lock';
export * from './leadership.providers';
