import { MigrationInterface, QueryRunner, Table, TableIndex } from 'typeorm';

/** The job queue, in the same portable table API as the first migration. */
export class CreateJobs1764633600000 implements MigrationInterface {
  name = 'CreateJobs1764633600000';

  async up(queryRunner: QueryRunner): Promise<void> {
    const driver = queryRunner.connection.driver;
    const dateType = driver.normalizeType({ type: Date });
    const now = driver.mappedDataTypes.createDateDefault;
    await queryRunner.createTable(
      new Table({
        name: 'jobs',
        columns: [
          { name: 'id', type: 'varchar', length: '36', isPrimary: true },
          { name: 'state', type: 'varchar', length: '16' },
          { name: 'repository', type: 'varchar', length: '256' },
          { name: 'labels', type: 'text' },
          { name: 'image', type: 'varchar', length: '512', isNullable: true },
          { name: 'githubJobId', type: 'varchar', length: '32', isNullable: true, isUnique: true },
          { name: 'githubRunId', type: 'varchar', length: '32', isNullable: true },
          { name: 'runnerId', type: 'varchar', length: '128', isNullable: true },
          { name: 'containerId', type: 'varchar', length: '36', isNullable: true },
          { name: 'failureReason', type: 'text', isNullable: true },
          { name: 'attempts', type: 'integer', default: 0 },
          { name: 'queuedAt', type: dateType },
          { name: 'assignedAt', type: dateType, isNullable: true },
          { name: 'startedAt', type: dateType, isNullable: true },
          { name: 'finishedAt', type: dateType, isNullable: true },
          { name: 'createdAt', type: dateType, default: now },
          { name: 'updatedAt', type: dateType, default: now },
          { name: 'version', type: 'integer' },
        ],
      }),
    );
    await queryRunner.createIndex(
      'jobs',
      new TableIndex({ name: 'idx_jobs_state_queued', columnNames: ['state', 'queuedAt'] }),
    );
    await queryRunner.createIndex('jobs', new TableIndex({ name: 'idx_jobs_repository', columnNames: ['repository'] }));
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.dropTable('jobs');
  }
}
