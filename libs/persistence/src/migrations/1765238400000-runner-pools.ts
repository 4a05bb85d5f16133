import { MigrationInterface, QueryRunner, TableColumn, TableIndex } from 'typeorm';

/** Warm pools: a runner records the pool it was started for, and the pool keeper finds its runners by it. */
export class RunnerPools1765238400000 implements MigrationInterface {
  name = 'RunnerPools1765238400000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.addColumn(
      'runners',
      new TableColumn({ name: 'pool', type: 'varchar', length: '32', isNullable: true }),
    );
    await queryRunner.createIndex('runners', new TableIndex({ name: 'idx_runners_pool', columnNames: ['pool'] }));
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.dropIndex('runners', 'idx_runners_pool');
    await queryRunner.dropColumn('runners', 'pool');
  }
}
