import { MigrationInterface, QueryRunner, Table, TableIndex } from 'typeorm';

/** The resource sample history of running containers (monitoring), pruned after its retention. */
export class CreateContainerStats1764806400000 implements MigrationInterface {
  name = 'CreateContainerStats1764806400000';

  async up(queryRunner: QueryRunner): Promise<void> {
    const dateType = queryRunner.connection.driver.normalizeType({ type: Date });
    const figure = (name: string) => ({ name, type: 'double precision' });
    await queryRunner.createTable(
      new Table({
        name: 'container_stats',
        columns: [
          { name: 'id', type: 'integer', isPrimary: true, isGenerated: true, generationStrategy: 'increment' },
          { name: 'containerId', type: 'varchar', length: '36' },
          { name: 'sampledAt', type: dateType },
          figure('cpuPercent'),
          figure('memoryUsage'),
          figure('memoryLimit'),
          figure('networkRx'),
          figure('networkTx'),
          figure('blockRead'),
          figure('blockWrite'),
          { name: 'pids', type: 'integer' },
        ],
      }),
    );
    await queryRunner.createIndex(
      'container_stats',
      new TableIndex({ name: 'idx_container_stats_container', columnNames: ['containerId', 'sampledAt'] }),
    );
    await queryRunner.createIndex(
      'container_stats',
      new TableIndex({ name: 'idx_container_stats_sampled', columnNames: ['sampledAt'] }),
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.dropTable('container_stats');
  }
}
