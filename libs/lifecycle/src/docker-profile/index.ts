export * from './docker-daemon-sidecars';
export * from './sidecar-spec';
export * from './runner-daemons';
