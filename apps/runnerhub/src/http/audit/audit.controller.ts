import { DomainError, ErrorCode } from '@app/common';
import { AuditLogEntryEntity, AuditLogRepository } from '@app/persistence';
import { Controller, Get, Query } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { ApiEnvelope, ApiFailures } from '../api-responses.decorator';
import { RequireRole, Role } from '../auth/auth.decorators';
import { AuditEntryDto } from './dto/audit-entry.dto';
import { ListAuditEntriesQueryDto } from './dto/list-audit-entries-query.dto';
import { PagedEnvelope, pagedEnvelope } from '../response-envelope';

/** /api/audit: the trail of mutating calls, for operators. */
@ApiTags('audit')
@Controller('audit')
export class AuditController {
  constructor(private readonly audit: AuditLogRepository) {}

  @Get()
  @RequireRole('operator')
  @ApiOperation({
    summary: 'The audit log of mutating calls, newest first, with filters and paging',
    description:
      'One entry per POST, PUT, PATCH and DELETE under /api made with a valid API key, carried out or refused ' +
      '(403, 404, 429 included): who, which action on which target, and the status and error code the caller ' +
      'received. Calls without a valid key that were refused are not entered one by one: each minute in which any ' +
      'were has one `auth.anonymous-refused` entry, with their count, statuses and number of distinct client ' +
      'addresses in `details`.',
  })
  @ApiEnvelope(AuditEntryDto, { list: true })
  @ApiFailures(400, 403)
  async listAuditEntries(@Query() query: ListAuditEntriesQueryDto): Promise<PagedEnvelope<AuditEntryDto>> {
    const { actor, action, target, outcome, limit = 50, offset = 0 } = query;
    const since = query.since === undefined ? undefined : new Date(query.since);
    const until = query.until === undefined ? undefined : new Date(query.until);
    if (since && until && since.getTime() > until.getTime()) {
      const message = 'must not be before since';
      throw new DomainError(ErrorCode.ValidationFailed, `Invalid request: until: ${message}`, {
        problems: [{ field: 'until', message }],
      });
    }
    const { items, total } = await this.audit.list({ actor, action, target, outcome, since, until }, { limit, offset });
    return pagedEnvelope(items.map(toAuditEntryDto), { limit, offset, total });
  }
}

function toAuditEntryDto(entry: AuditLogEntryEntity): AuditEntryDto {
  return {
    id: entry.id,
    at: entry.at,
    actor: entry.actor,
    role: entry.role as Role | null,
    action: entry.action,
    method: entry.method,
    path: entry.path,
    target: entry.target,
    outcome: entry.outcome,
    status: entry.status,
    errorCode: entry.errorCode,
    details: entry.details,
    requestId: entry.requestId,
  };
}
