import { ApiProperty } from '@nestjs/swagger';
import { API_ERROR_CODES } from './api-error-code';

export class ApiErrorDto {
  @ApiProperty({ enum: API_ERROR_CODES, enumName: 'ApiErrorCode', example: 'ILLEGAL_TRANSITION' })
  code!: string;

  @ApiProperty({ example: 'Container 3f0c... is removed: it cannot be started from that state' })
  message!: string;

  @ApiProperty({
    type: 'object',
    additionalProperties: true,
    description: 'Machine-readable specifics: for validation failures `problems: [{ field, message }]`',
  })
  details!: Record<string, unknown>;
}

/** The body of every failed call. */
export class ApiErrorEnvelopeDto {
  @ApiProperty({ enum: [false] })
  success!: false;

  @ApiProperty({ type: ApiErrorDto })
  error!: ApiErrorDto;
}

/** Paging facts returned beside every list. */
export class PageDto {
  @ApiProperty({ example: 50 })
  limit!: number;

  @ApiProperty({ example: 0 })
  offset!: number;

  @ApiProperty({ example: 123, description: 'How many items match the filters in all' })
  total!: number;
}
