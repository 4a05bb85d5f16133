import { ApiProperty } from '@nestjs/swagger';

export class LogLineDto {
  @ApiProperty({ enum: ['stdout', 'stderr'] })
  stream!: 'stdout' | 'stderr';
  text!: string;
  /** RFC 3339 with nanoseconds, as the engine wrote it; only when timestamps were asked for. */
  timestamp?: string;
}

/** The last lines of a container's output, oldest first, at most LOGS_MAX_BYTES of them. */
export class ContainerLogsDto {
  lines!: LogLineDto[];

  /**
   * True when older lines (or the start of a line longer than the cap) were left out so that the answer holds at
   * most LOGS_MAX_BYTES of output (each line's text in UTF-8 and its newline); ask for a smaller `tail` to see
   * fewer, complete lines.
   */
  truncated!: boolean;
}
