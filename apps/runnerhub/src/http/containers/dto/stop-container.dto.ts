import { IsInt, IsOptional, Max, Min } from 'class-validator';

/** How to stop: SIGTERM, then SIGKILL after `timeout` seconds. */
export class StopContainerDto {
  /** Seconds to wait after SIGTERM before SIGKILL, 0 to 3600 (default 10). */
  @IsOptional()
  @IsInt()
  @Min(0)
  @Max(3600)
  timeout?: number;
}
