import { INestApplication } from '@nestjs/common';
import { DocumentBuilder, OpenAPIObject, SwaggerModule } from '@nestjs/swagger';

/**
 * The OpenAPI document, as served at /api/docs-json and written to docs/openapi.json. Operation ids are the handler
 * names (listContainers, stopContainer...), so a generated client reads like the API it calls.
 */
export function buildOpenApiDocument(app: INestApplication): OpenAPIObject {
  return SwaggerModule.createDocument(
    app,
    new DocumentBuilder()
      .setTitle('RunnerHub')
      .setDescription(
        'Runs GitHub Actions jobs in ephemeral, locked-down Docker containers and manages their whole life. ' +
          'Every call but health, metrics and these docs needs an API key: `Authorization: Bearer <key>`. ' +
          'Success is `{ success: true, data }`; failure is `{ success: false, error: { code, message, details } }`.',
      )
      .setVersion('0.1.0')
      .addBearerAuth({ type: 'http', scheme: 'bearer', description: 'A RunnerHub API key' })
      .build(),
    { operationIdFactory: (_controllerKey: string, methodKey: string) => methodKey },
  );
}
