import { ApiProperty } from '@nestjs/swagger';
import { ArrayMaxSize, IsArray, IsInt, IsOptional, Matches, Max, Min } from 'class-validator';
import { ToInteger, ToList } from '../../request-values';

/** `container:stopped`, `container:*`, `job:*`, `engine:*`, `*`... */
export const EVENT_TYPE_PATTERN = /^(\*|(container|job|engine):(\*|[a-z][a-z-]{0,39}))$/;

export class StreamEventsQueryDto {
  /**
   * Comma-separated event names to receive, each exact (`container:stopped`) or a family (`container:*`); default
   * every event.
   */
  @ApiProperty({ type: String, required: false, example: 'container:stopped,container:removed' })
  @IsOptional()
  @ToList()
  @IsArray()
  @ArrayMaxSize(32)
  @Matches(EVENT_TYPE_PATTERN, {
    each: true,
    message: 'type must be event names such as container:stopped or container:*, separated by commas',
  })
  type?: string[];

  /** Only events of this container. */
  @IsOptional()
  @Matches(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i, {
    message: 'containerId must be a container id (a UUID)',
  })
  containerId?: string;

  /** Milliseconds between heartbeat messages, 1000 to 60000 (default 15000). */
  @IsOptional()
  @ToInteger()
  @IsInt()
  @Min(1_000)
  @Max(60_000)
  heartbeatMs?: number;
}
