import { AppConfig } from '@app/common';
import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { buildDataSourceOptions } from './data-source.options';
import { DUTY_LEADERSHIP_PROVIDER, DutyLeadership, SqliteProcessLock, SqliteProcessLockModule } from './leadership';
import {
  ApiKeyRepository,
  AuditLogRepository,
  ContainerRecordRepository,
  ContainerStatsRepository,
  EngineRepository,
  GitHubDeliveryRepository,
  JobRepository,
  RunnerRepository,
  PoolRunnerRepository,
} from './repositories';
import { ScanLock } from './scan-lock';
import { TransactionRunner } from './transaction-runner';

const PROVIDERS = [
  TransactionRunner,
  ContainerRecordRepository,
  ApiKeyRepository,
  AuditLogRepository,
  JobRepository,
  RunnerRepository,
  PoolRunnerRepository,
  GitHubDeliveryRepository,
  ContainerStatsRepository,
  EngineRepository,
  ScanLock,
];

/** RunnerHub's only door to the database: the data source (migrated at start) and the repositories over it. */
@Module({
  imports: [
    TypeOrmModule.forRootAsync({
      imports: [SqliteProcessLockModule],
      inject: [AppConfig, SqliteProcessLock],
      useFactory: (config: AppConfig, sqliteLock: SqliteProcessLock) => {
        const options = buildDataSourceOptions(config.database);
        // Before SQLite opens the file: a second process must not even run the migrations.
        if (config.database.kind === 'sqlite') sqliteLock.acquire(config.database.file);
        return {
          ...options,
          // Let the service start even when the database is briefly away; readiness reports it, requests get 503.
          retryAttempts: 10,
          retryDelay: 1_000,
        };
      },
    }),
  ],
  providers: [...PROVIDERS, DUTY_LEADERSHIP_PROVIDER],
  exports: [...PROVIDERS, DutyLeadership],
})
export class PersistenceModule {}
