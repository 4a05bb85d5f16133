import { MigrationInterface, QueryRunner, Table, TableIndex } from 'typeorm';

/**
 * The stored (generated) API keys and the audit log of mutating API calls. In the portable table API with the
 * driver's own date type, like the first migration, so it serves SQLite and PostgreSQL alike.
 */
export class CreateApiKeysAndAuditLog1764547200000 implements MigrationInterface {
  name = 'CreateApiKeysAndAuditLog1764547200000';

  async up(queryRunner: QueryRunner): Promise<void> {
    const driver = queryRunner.connection.driver;
    const dateType = driver.normalizeType({ type: Date });
    const now = driver.mappedDataTypes.createDateDefault;

    await queryRunner.createTable(
      new Table({
        name: 'api_keys',
        columns: [
          { name: 'name', type: 'varchar', length: '64', isPrimary: true },
          { name: 'role', type: 'varchar', length: '16' },
          { name: 'keyHash', type: 'varchar', length: '64', isUnique: true },
          { name: 'createdAt', type: dateType, isNullable: false, default: now },
        ],
      }),
    );

    await queryRunner.createTable(
      new Table({
        name: 'audit_log',
        columns: [
          { name: 'id', type: 'integer', isPrimary: true, isGenerated: true, generationStrategy: 'increment' },
          { name: 'at', type: dateType },
          { name: 'actor', type: 'varchar', length: '128' },
          { name: 'role', type: 'varchar', length: '16', isNullable: true },
          { name: 'action', type: 'varchar', length: '256' },
          { name: 'method', type: 'varchar', length: '8' },
          { name: 'path', type: 'text' },
          { name: 'target', type: 'varchar', length: '128', isNullable: true },
          { name: 'outcome', type: 'varchar', length: '16' },
          { name: 'status', type: 'integer' },
          { name: 'errorCode', type: 'varchar', length: '64', isNullable: true },
          { name: 'details', type: 'text' },
          { name: 'requestId', type: 'varchar', length: '128', isNullable: true },
        ],
      }),
    );
    for (const [name, column] of [
      ['idx_audit_at', 'at'],
      ['idx_audit_actor', 'actor'],
      ['idx_audit_target', 'target'],
    ]) {
      await queryRunner.createIndex('audit_log', new TableIndex({ name, columnNames: [column] }));
    }
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.dropTable('audit_log');
    await queryRunner.dropTable('api_keys');
  }
}
