import 'reflect-metadata';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ConfigurationError, loadAppConfig } from '@app/common';
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
  const app = await createApp(config);
  await app.listen(config.port);
  const { port } = (app.getHttpServer() as Server).address() as AddressInfo;
  app.get(Logger).log(`RunnerHub listening on port ${port}; API docs at /api/docs`, 'Bootstrap');
}

void main();
