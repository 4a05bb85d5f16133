import { EntityManager, EntityTarget, FindOptionsOrder, FindOptionsWhere, LessThan, ObjectLiteral } from 'typeorm';

/**
 * Deletes up to `limit` of the oldest rows whose `timeColumn` is before `cutoff` and says how many went. The retention
 * job calls it until less than a batch comes back, so a large backlog is never one long statement holding the table.
 * Run it through the TransactionRunner: on SQLite a bare delete could land inside another request's transaction.
 */
export async function pruneOldestBatch<Entity extends ObjectLiteral>(
  manager: EntityManager,
  entity: EntityTarget<Entity>,
  columns: { key: keyof Entity & string; time: keyof Entity & string },
  cutoff: Date,
  limit: number,
): Promise<number> {
  const rows = await manager.find(entity, {
    select: { [columns.key]: true } as never,
    where: { [columns.time]: LessThan(cutoff) } as FindOptionsWhere<Entity>,
    order: { [columns.time]: 'ASC' } as FindOptionsOrder<Entity>,
    take: limit,
  });
  if (rows.length > 0)
    await manager.delete(
      entity,
      rows.map((row) => row[columns.key] as string | number),
    );
  return rows.length;
}
