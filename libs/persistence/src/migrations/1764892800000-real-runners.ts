import { MigrationInterface, QueryRunner, TableColumn, TableIndex } from 'typeorm';
import type { ColumnMetadata } from 'typeorm/metadata/ColumnMetadata';

/**
 * Real runners: what a job's runner was made of (its profile and why, the image digest it ran), a machine-readable
 * failure code, the runner GitHub really gave the job to, and whether the next try must pull the image again (the
 * runner was too old for GitHub). Runners remember their profile and the GitHub job they took, so a runner made for
 * one job can serve another that GitHub handed it.
 */
export class RealRunners1764892800000 implements MigrationInterface {
  name = 'RealRunners1764892800000';

  async up(queryRunner: QueryRunner): Promise<void> {
    const text = (name: string, length: string) => new TableColumn({ name, type: 'varchar', length, isNullable: true });
    await queryRunner.addColumns('jobs', [
      text('profile', '16'),
      new TableColumn({ name: 'profileReason', type: 'text', isNullable: true }),
      text('imageDigest', '128'),
      text('failureCode', '32'),
      text('githubRunnerName', '64'),
      // The default as each driver writes the entity's `default: false` (0 on SQLite, false on PostgreSQL), so that the
      // migrated schema is exactly the entities'.
      new TableColumn({
        name: 'refreshImage',
        type: 'boolean',
        default: queryRunner.connection.driver.normalizeDefault({ default: false } as ColumnMetadata),
      }),
    ]);
    await queryRunner.createIndex('jobs', new TableIndex({ name: 'idx_jobs_runner', columnNames: ['runnerId'] }));
    await queryRunner.addColumns('runners', [text('profile', '16'), text('githubJobId', '32')]);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.dropColumn('runners', 'githubJobId');
    await queryRunner.dropColumn('runners', 'profile');
    await queryRunner.dropIndex('jobs', 'idx_jobs_runner');
    for (const column of [
      'refreshImage',
      'githubRunnerName',
      'failureCode',
      'imageDigest',
      'profileReason',
      'profile',
    ]) {
      await queryRunner.dropColumn('jobs', column);
    }
  }
}
