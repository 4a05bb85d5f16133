import { DomainError, ErrorCode } from '@app/common';
import { FindOptionsWhere, ObjectLiteral, QueryDeepPartialEntity, Repository } from 'typeorm';

/**
 * Applies `changes` to the row only if nobody changed it since `expectedVersion` was read, bumping the version;
 * NOT_FOUND when the row is gone and CONFLICT (naming the noun) when another writer got there first.
 */
export async function updateVersioned<T extends ObjectLiteral & { id: string; version: number }>(
  rows: Repository<T>,
  noun: string,
  id: string,
  expectedVersion: number,
  changes: QueryDeepPartialEntity<T>,
  describe: (current: T) => string = () => '',
): Promise<T> {
  const where = { id, version: expectedVersion } as FindOptionsWhere<T>;
  const result = await rows.update(where, { ...changes, version: expectedVersion + 1 });
  const byId = { id } as FindOptionsWhere<T>;
  if (result.affected === 0) {
    const current = await rows.findOneBy(byId);
    if (!current) throw new DomainError(ErrorCode.NotFound, `${noun} ${id} does not exist`, { id });
    throw new DomainError(ErrorCode.Conflict, `${noun} ${id} was changed by another request${describe(current)}`, {
      id,
      ...('state' in current ? { state: current.state as unknown } : {}),
    });
  }
  return rows.findOneByOrFail(byId);
}
