import 'reflect-metadata';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ConfigurationError, loadAppConfig } from '@app/common';
import { SqliteInUseError } from '@app/persistence';
import { Logger } from 'nestjs-pino';
import { createApp } from './bootstrap';

async function main(): Promise<void> {
  let config;
  try {
    config = loadAppConfig(process.env);
  } catch (error) {
    // A bad deployment should say what to fix in one glance, not bury it in a stack trace.
    if (error instanceof ConfigurationError) {
      process.stderr.write(`RunnerHub cannot start. ${error.message}\n`);
      process.exit(78); // EX_CONFIG
    }
    throw error;
  }
  let app;
  try {
    app = await createApp(config);
  } catch (error) {
    // A second process on the SQLite file: a deployment to change (PostgreSQL for replicas), as a bad setting is.
    if (error instanceof SqliteInUseError) {
      process.stderr.write(`RunnerHub cannot start. ${error.message}\n`);
      process.exit(78); // EX_CONFIG
    }
    throw error;
  }
  await app.listen(config.port);
  const { port } = (app.getHttpServer() as Server).address() as AddressInfo;
  app.get(Logger).log(`RunnerHub listening on port ${port}; API docs at /api/docs`, 'Bootstrap');
}

void main();
