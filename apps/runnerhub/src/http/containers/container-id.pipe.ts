import { DomainError, ErrorCode } from '@app/common';
import { Injectable, PipeTransform } from '@nestjs/common';

/** Every container id RunnerHub hands out is a UUID (including those of adopted containers). */
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * A path id that cannot name a container is answered like an unknown one (404 NOT_FOUND) before it reaches the
 * database: a 2 000-character or NUL-laden id is then never a query, let alone a 500.
 */
@Injectable()
export class ContainerIdPipe implements PipeTransform<string, string> {
  transform(value: string): string {
    if (typeof value === 'string' && UUID.test(value)) return value;
    const shown = typeof value === 'string' && value.length > 64 ? `${value.slice(0, 64)}...` : String(value);
    throw new DomainError(ErrorCode.NotFound, `Container ${JSON.stringify(shown)} does not exist (ids are UUIDs)`, {
      id: shown,
    });
  }
}
