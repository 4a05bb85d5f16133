import type { Config } from 'jest';
import { pathsToModuleNameMapper } from 'ts-jest';
import { compilerOptions } from './tsconfig.json';

// One source of truth for the @app/* aliases: tsconfig.json's paths feed Jest too, so they never drift.
const moduleNameMapper = pathsToModuleNameMapper(compilerOptions.paths, { prefix: '<rootDir>/' });
const transform = { '^.+\\.ts$': ['ts-jest', { tsconfig: 'tsconfig.spec.json' }] as [string, object] };
const shared = { moduleFileExtensions: ['js', 'json', 'ts'], rootDir: '.', testEnvironment: 'node', transform, moduleNameMapper };
// The integration suites boot the whole service, so they compile with the Swagger CLI plugin like `nest build`
// does; the plugin needs the full program, hence no isolatedModules there (slower to compile, same code).
const withSwaggerPlugin = {
  '^.+\\.ts$': [
    'ts-jest',
    { tsconfig: 'tsconfig.json', astTransformers: { before: ['<rootDir>/test/support/swagger-plugin.transformer.js'] } },
  ] as [string, object],
};

const config: Config = {
  // Real containers start, stop and get OOM-killed in the integration suites; each wait inside a test has its own,
  // tighter deadline, so this only bounds a test that hangs.
  testTimeout: 60_000,
  projects: [
    // Pure logic, no engine, no database: milliseconds each.
    { ...shared, displayName: 'unit', testMatch: ['<rootDir>/{apps,libs}/**/*.spec.ts'] },
    // Real Docker engine and real databases (SQLite always, PostgreSQL when TEST_DATABASE_URL is set).
    {
      ...shared,
      displayName: 'integration',
      transform: withSwaggerPlugin,
      testMatch: ['<rootDir>/{libs,test}/**/*.int-spec.ts', '<rootDir>/test/**/*.e2e-spec.ts'],
      globalSetup: '<rootDir>/test/support/global-setup.ts',
    },
  ],
};

export default config;
