import 'reflect-metadata';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { loadAppConfig } from '@app/common';
import { createApp } from '../bootstrap';
import { buildOpenApiDocument } from './openapi-document';

/**
 * Writes the OpenAPI document to the path given (default docs/openapi.json) from the compiled service, so the
 * Swagger CLI plugin's additions are in it. Needs no engine; uses a throw-away embedded database.
 */
async function main(): Promise<void> {
  const target = resolve(process.argv[2] ?? 'docs/openapi.json');
  const dataDir = mkdtempSync(join(tmpdir(), 'runnerhub-openapi-'));
  try {
    const app = await createApp(
      loadAppConfig({
        NODE_ENV: 'test',
        LOG_LEVEL: 'silent',
        RUNNERHUB_DATA_DIR: dataDir,
        RUNNERHUB_API_KEYS: 'openapi-writer-key-0000:viewer',
      }),
    );
    const document = buildOpenApiDocument(app);
    writeFileSync(target, `${JSON.stringify(document, null, 2)}\n`);
    await app.close();
    process.stdout.write(`OpenAPI document written to ${target} (${Object.keys(document.paths).length} paths)\n`);
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
}

void main();
