import { AppConfig } from '@app/common';
import { INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { SwaggerModule } from '@nestjs/swagger';
import { Logger } from 'nestjs-pino';
import { AppModule } from './app.module';
import { buildOpenApiDocument } from './openapi/openapi-document';

export const API_PREFIX = 'api';

/** Builds the whole service exactly as production runs it; main.ts and the end-to-end tests both start it here. */
export async function createApp(config: AppConfig): Promise<INestApplication> {
  const app = await NestFactory.create(AppModule.register(config), {
    bufferLogs: true,
    // Webhook signatures are computed over the exact bytes received, which parsing would lose.
    rawBody: true,
    // A failed start throws to the caller (main.ts says why and exits; a test sees the error) rather than abort().
    abortOnError: false,
  });
  app.useLogger(app.get(Logger));
  // SIGTERM and SIGINT close modules in order: the engine's event stream, timers, then the database.
  app.enableShutdownHooks();
  app.setGlobalPrefix(API_PREFIX, { exclude: ['health', 'health/ready', 'metrics'] });
  setUpSwagger(app);
  return app;
}

function setUpSwagger(app: INestApplication): void {
  SwaggerModule.setup(`${API_PREFIX}/docs`, app, () => buildOpenApiDocument(app), {
    jsonDocumentUrl: `${API_PREFIX}/docs-json`,
    customSiteTitle: 'RunnerHub API',
    swaggerOptions: { persistAuthorization: true, displayOperationId: true },
  });
}
