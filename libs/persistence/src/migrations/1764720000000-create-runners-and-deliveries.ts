import { MigrationInterface, QueryRunner, Table, TableColumn, TableIndex } from 'typeorm';

/**
 * Orchestration: the runners RunnerHub registers with GitHub, the webhook deliveries it has handled (idempotency),
 * and two job columns: GitHub's conclusion, and the earliest time a retried job may be claimed again.
 */
export class CreateRunnersAndDeliveries1764720000000 implements MigrationInterface {
  name = 'CreateRunnersAndDeliveries1764720000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    const driver = queryRunner.connection.driver;
    const dateType = driver.normalizeType({ type: Date });
    const now = driver.mappedDataTypes.createDateDefault;
    await queryRunner.createTable(
      new Table({
        name: 'runners',
        columns: [
          { name: 'id', type: 'varchar', length: '36', isPrimary: true },
          { name: 'name', type: 'varchar', length: '64', isUnique: true },
          { name: 'githubRunnerId', type: 'varchar', length: '32', isNullable: true },
          { name: 'scopeKind', type: 'varchar', length: '16' },
          { name: 'scopeName', type: 'varchar', length: '256' },
          { name: 'labels', type: 'text' },
          { name: 'registration', type: 'varchar', length: '24' },
          { name: 'status', type: 'varchar', length: '16' },
          { name: 'jobId', type: 'varchar', length: '36', isNullable: true },
          { name: 'containerId', type: 'varchar', length: '36', isNullable: true },
          { name: 'deregisteredAt', type: dateType, isNullable: true },
          { name: 'createdAt', type: dateType, default: now },
          { name: 'updatedAt', type: dateType, default: now },
          { name: 'version', type: 'integer' },
        ],
      }),
    );
    await queryRunner.createIndex('runners', new TableIndex({ name: 'idx_runners_job', columnNames: ['jobId'] }));
    await queryRunner.createIndex(
      'runners',
      new TableIndex({ name: 'idx_runners_container', columnNames: ['containerId'] }),
    );
    await queryRunner.createTable(
      new Table({
        name: 'github_deliveries',
        columns: [
          { name: 'deliveryId', type: 'varchar', length: '64', isPrimary: true },
          { name: 'event', type: 'varchar', length: '64' },
          { name: 'action', type: 'varchar', length: '32', isNullable: true },
          { name: 'githubJobId', type: 'varchar', length: '32', isNullable: true },
          { name: 'outcome', type: 'varchar', length: '16' },
          { name: 'detail', type: 'text', isNullable: true },
          { name: 'receivedAt', type: dateType },
        ],
      }),
    );
    await queryRunner.addColumns('jobs', [
      new TableColumn({ name: 'conclusion', type: 'varchar', length: '32', isNullable: true }),
      new TableColumn({ name: 'availableAt', type: dateType, isNullable: true }),
    ]);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.dropColumns('jobs', ['availableAt', 'conclusion']);
    await queryRunner.dropTable('github_deliveries');
    await queryRunner.dropTable('runners');
  }
}
