import { DomainError, ErrorCode } from '@app/common';
import { PipeTransform } from '@nestjs/common';

/** Every id RunnerHub hands out is a UUID (containers, including adopted ones, and jobs). */
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * A path id that cannot name a resource is answered like an unknown one (404 NOT_FOUND) before it reaches the
 * database: a 2 000-character or NUL-laden id is then never a query, let alone a 500.
 */
export class UuidParamPipe implements PipeTransform<string, string> {
  constructor(private readonly resource: string) {}

  transform(value: string): string {
    if (typeof value === 'string' && UUID.test(value)) return value;
    const shown = typeof value === 'string' && value.length > 64 ? `${value.slice(0, 64)}...` : String(value);
    throw new DomainError(
      ErrorCode.NotFound,
      `${this.resource} ${JSON.stringify(shown)} does not exist (ids are UUIDs)`,
      { id: shown },
    );
  }
}
