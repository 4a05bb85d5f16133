import { AppConfigModule, loadAppConfig } from '@app/common';
import { PersistenceModule } from '@app/persistence';
import { Test, TestingModule } from '@nestjs/testing';
import { createTestDatabase, TestDatabase } from './databases';

/**
 * The persistence layer on a fresh database as replicas see it: on PostgreSQL two of them (two connection pools over
 * one database, as two RunnerHub processes), on SQLite one (a single writer by design). `primary` is the first.
 * Call open() in beforeAll and close() in afterAll.
 */
export class PersistenceReplicas {
  database!: TestDatabase;
  /** Filled by open(), in place: a suite may keep a reference to it from its start. */
  readonly all: TestingModule[] = [];

  constructor(private readonly kind: 'sqlite' | 'postgres') {}

  get primary(): TestingModule {
    return this.all[0];
  }

  async open(): Promise<void> {
    this.database = await createTestDatabase(this.kind);
    this.all.push(await this.openOne());
    if (this.kind === 'postgres') this.all.push(await this.openOne());
  }

  async close(): Promise<void> {
    for (const replica of this.all.splice(0)) await replica.close();
    await this.database?.drop();
  }

  private async openOne(): Promise<TestingModule> {
    const moduleRef = await Test.createTestingModule({
      imports: [AppConfigModule.forRoot(loadAppConfig(this.database.env)), PersistenceModule],
    }).compile();
    await moduleRef.init();
    return moduleRef;
  }
}
