import { IsInt, IsOptional, Max, Min } from 'class-validator';
import { ToInteger } from './request-values';

/** Paging of every list: query strings become integers, and the bounds are the same everywhere. */
export class PageQueryDto {
  /** Page size, 1 to 500 (default 50). */
  @IsOptional()
  @ToInteger()
  @IsInt()
  @Min(1)
  @Max(500)
  limit?: number = 50;

  /** How many matching items to skip (default 0). */
  @IsOptional()
  @ToInteger()
  @IsInt()
  @Min(0)
  @Max(1_000_000_000)
  offset?: number = 0;
}
