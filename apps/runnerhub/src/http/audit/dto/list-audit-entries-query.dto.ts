import { applyDecorators } from '@nestjs/common';
import { ApiProperty } from '@nestjs/swagger';
import { IsIn, IsISO8601, IsNotEmpty, IsOptional, IsString, Matches, MaxLength } from 'class-validator';
import { PageQueryDto } from '../../page-query.dto';

/** A time of day needs its zone: `2025-12-01T10:00` alone would mean whatever zone the server runs in. */
const DATE_OR_ZONED_TIME = /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2}))?$/;

function IsInstant(name: string) {
  const message = `${name} must be an ISO 8601 date-time with its zone, e.g. 2025-12-01T09:30:00Z, or a date (midnight UTC)`;
  return applyDecorators(
    IsOptional(),
    IsISO8601({ strict: true, strictSeparator: true }, { message }),
    Matches(DATE_OR_ZONED_TIME, { message }),
  );
}

/** Filters (all optional, combined with AND) and paging of the audit log, newest first. */
export class ListAuditEntriesQueryDto extends PageQueryDto {
  /** An API key's name, exactly (e.g. `operator-1a2b3c4d`), or `anonymous`. */
  @IsOptional()
  @IsString()
  @IsNotEmpty()
  @MaxLength(128)
  actor?: string;

  /** An action, exactly (e.g. `container.stop`). */
  @IsOptional()
  @IsString()
  @IsNotEmpty()
  @MaxLength(256)
  action?: string;

  /** The id a call was about, exactly. */
  @IsOptional()
  @IsString()
  @IsNotEmpty()
  @MaxLength(128)
  target?: string;

  @ApiProperty({ enum: ['success', 'failure'], enumName: 'AuditOutcome', required: false })
  @IsOptional()
  @IsIn(['success', 'failure'])
  outcome?: 'success' | 'failure';

  /** Entries at or after this instant: ISO 8601 with its zone (`2025-12-01T09:30:00Z`), or a date (midnight UTC). */
  @ApiProperty({ type: String, format: 'date-time', required: false })
  @IsInstant('since')
  since?: string;

  /** Entries before this instant, in the same form as `since`. */
  @ApiProperty({ type: String, format: 'date-time', required: false })
  @IsInstant('until')
  until?: string;
}
