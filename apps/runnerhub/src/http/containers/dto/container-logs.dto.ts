import { ApiProperty } from '@nestjs/swagger';

export class LogLineDto {
  @ApiProperty({ enum: ['stdout', 'stderr'] })
  stream!: 'stdout' | 'stderr';
  text!: string;
  /** RFC 3339 with nanoseconds, as the engine wrote it; only when timestamps were asked for. */
  timestamp?: string;
}

/** The last lines of a container's output, oldest first. */
export class ContainerLogsDto {
  lines!: LogLineDto[];
}
