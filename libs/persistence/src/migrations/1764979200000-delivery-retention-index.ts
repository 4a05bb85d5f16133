import { MigrationInterface, QueryRunner, TableIndex } from 'typeorm';

/**
 * The retention job deletes webhook receipts oldest first, a batch at a time; without an index on `receivedAt` every
 * batch would scan the whole table. (Audit rows and stats samples have theirs already.)
 */
export class DeliveryRetentionIndex1764979200000 implements MigrationInterface {
  name = 'DeliveryRetentionIndex1764979200000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.createIndex(
      'github_deliveries',
      new TableIndex({ name: 'idx_deliveries_received', columnNames: ['receivedAt'] }),
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.dropIndex('github_deliveries', 'idx_deliveries_received');
  }
}
