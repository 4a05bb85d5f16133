import { IsBoolean, IsInt, IsOptional, Max, Min } from 'class-validator';
import { ToBoolean, ToInteger } from '../../request-values';

export class ContainerLogsQueryDto {
  /** The last N lines, 1 to 10000 (default 100). */
  @IsOptional()
  @ToInteger()
  @IsInt()
  @Min(1)
  @Max(10_000)
  tail?: number = 100;

  /** Prefix each line with the engine's timestamp (`true` or `false`, default false). */
  @IsOptional()
  @ToBoolean()
  @IsBoolean()
  timestamps?: boolean = false;
}
