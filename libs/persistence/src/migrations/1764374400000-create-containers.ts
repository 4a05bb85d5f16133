import { MigrationInterface, QueryRunner, Table, TableIndex } from 'typeorm';

/**
 * The container record and its append-only transition history. Written with TypeORM's portable table API, with the
 * driver choosing its own date type and default, so the one migration serves SQLite and PostgreSQL alike.
 */
export class CreateContainers1764374400000 implements MigrationInterface {
  name = 'CreateContainers1764374400000';

  async up(queryRunner: QueryRunner): Promise<void> {
    const driver = queryRunner.connection.driver;
    const dateType = driver.normalizeType({ type: Date });
    const now = driver.mappedDataTypes.createDateDefault;
    const createdAt = { type: dateType, isNullable: false, default: now };

    await queryRunner.createTable(
      new Table({
        name: 'containers',
        columns: [
          { name: 'id', type: 'varchar', length: '36', isPrimary: true },
          { name: 'name', type: 'varchar', length: '128', isUnique: true },
          { name: 'engineId', type: 'varchar', length: '64', isNullable: true, isUnique: true },
          { name: 'state', type: 'varchar', length: '16' },
          { name: 'runnerId', type: 'varchar', length: '128', isNullable: true },
          { name: 'jobId', type: 'varchar', length: '128', isNullable: true },
          { name: 'repository', type: 'varchar', length: '256', isNullable: true },
          { name: 'spec', type: 'text' },
          { name: 'limits', type: 'text' },
          { name: 'security', type: 'text' },
          { name: 'exitCode', type: 'integer', isNullable: true },
          { name: 'stateReason', type: 'text', isNullable: true },
          { name: 'stateChangedAt', type: dateType },
          { name: 'createdAt', ...createdAt },
          { name: 'updatedAt', ...createdAt },
          { name: 'version', type: 'integer' },
        ],
      }),
    );
    for (const [name, column] of [
      ['idx_containers_state', 'state'],
      ['idx_containers_job', 'jobId'],
      ['idx_containers_runner', 'runnerId'],
      ['idx_containers_repository', 'repository'],
    ]) {
      await queryRunner.createIndex('containers', new TableIndex({ name, columnNames: [column] }));
    }

    await queryRunner.createTable(
      new Table({
        name: 'container_transitions',
        columns: [
          { name: 'id', type: 'integer', isPrimary: true, isGenerated: true, generationStrategy: 'increment' },
          { name: 'containerId', type: 'varchar', length: '36' },
          { name: 'fromState', type: 'varchar', length: '16', isNullable: true },
          { name: 'toState', type: 'varchar', length: '16' },
          { name: 'reason', type: 'text' },
          { name: 'actor', type: 'varchar', length: '128' },
          { name: 'exitCode', type: 'integer', isNullable: true },
          { name: 'at', ...createdAt },
        ],
      }),
    );
    await queryRunner.createIndex(
      'container_transitions',
      new TableIndex({ name: 'idx_transitions_container', columnNames: ['containerId', 'id'] }),
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.dropTable('container_transitions');
    await queryRunner.dropTable('containers');
  }
}
