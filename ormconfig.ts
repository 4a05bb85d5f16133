import 'reflect-metadata';
import { loadAppConfig } from '@app/common';
import { buildDataSourceOptions } from '@app/persistence';
import { DataSource } from 'typeorm';

/**
 * The data source the TypeORM CLI uses (`npm run typeorm -- migration:show`, `migration:run`, `migration:generate`).
 * It reads the same variables as the service: DATABASE_URL for PostgreSQL, otherwise the SQLite file.
 */
export default new DataSource({ ...buildDataSourceOptions(loadAppConfig(process.env).database), migrationsRun: false });
