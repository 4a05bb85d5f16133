import { MigrationInterface, QueryRunner, Table, TableColumn, TableIndex } from 'typeorm';

/**
 * The fleet: an `engines` table every replica places containers from, the engine each container lives on (existing
 * ones on `default`, the name DOCKER_HOST's engine gets), and the placement decision on containers and jobs.
 */
export class FleetEngines1765065600000 implements MigrationInterface {
  name = 'FleetEngines1765065600000';

  async up(queryRunner: QueryRunner): Promise<void> {
    const text = (name: string, length: string | undefined, nullable = true) =>
      new TableColumn({ name, type: length ? 'varchar' : 'text', length, isNullable: nullable });
    const integer = (name: string) => new TableColumn({ name, type: 'integer', isNullable: true });
    const driver = queryRunner.connection.driver;
    const timestamp = driver.normalizeType({ type: Date });
    const now = driver.mappedDataTypes.createDateDefault;
    await queryRunner.createTable(
      new Table({
        name: 'engines',
        columns: [
          { name: 'name', type: 'varchar', length: '63', isPrimary: true },
          { name: 'endpoint', type: 'varchar', length: '512' },
          text('tlsCertPath', '1024'),
          { name: 'labels', type: 'text' },
          text('network', '128'),
          integer('memoryMb'),
          integer('cpuMillis'),
          integer('maxContainers'),
          integer('infoMemoryMb'),
          integer('infoCpuMillis'),
          { name: 'state', type: 'varchar', length: '16' },
          text('stateReason', undefined),
          { name: 'stateChangedAt', type: timestamp },
          { name: 'source', type: 'varchar', length: '8' },
          { name: 'lastSeenAt', type: timestamp, isNullable: true },
          { name: 'createdAt', type: timestamp, default: now },
          { name: 'updatedAt', type: timestamp, default: now },
          { name: 'version', type: 'integer' },
        ],
      }),
    );
    await queryRunner.addColumns('containers', [
      new TableColumn({ name: 'engineName', type: 'varchar', length: '63', default: "'default'" }),
      text('placement', undefined),
    ]);
    await queryRunner.createIndex(
      'containers',
      new TableIndex({ name: 'idx_containers_engine_state', columnNames: ['engineName', 'state'] }),
    );
    await queryRunner.addColumns('jobs', [
      text('engineName', '63'),
      text('placement', undefined),
      text('waitingReason', undefined),
    ]);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    for (const column of ['waitingReason', 'placement', 'engineName']) await queryRunner.dropColumn('jobs', column);
    await queryRunner.dropIndex('containers', 'idx_containers_engine_state');
    for (const column of ['placement', 'engineName']) await queryRunner.dropColumn('containers', column);
    await queryRunner.dropTable('engines');
  }
}
