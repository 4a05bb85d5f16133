import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { INestApplication } from '@nestjs/common';
import { loadAppConfig } from '@app/common';
import { createApp } from '../../apps/runnerhub/src/bootstrap';
import { TestDatabase } from './databases';

/** The whole service, booted exactly as main.ts boots it, on a test database and a free port. */
export async function startTestApp(
  database: TestDatabase,
  env: Record<string, string> = {},
): Promise<{ app: INestApplication; baseUrl: string }> {
  // No pull of the default runner image at start: tests reach no registry but the local one they start themselves.
  const config = loadAppConfig({
    NODE_ENV: 'test',
    PORT: '0',
    LOG_LEVEL: 'warn',
    RUNNER_IMAGE_PREPULL: 'false',
    ...database.env,
    ...env,
  });
  const app = await createApp(config);
  await app.listen(0, '127.0.0.1');
  const address = (app.getHttpServer() as Server).address() as AddressInfo;
  return { app, baseUrl: `http://127.0.0.1:${address.port}` };
}
