import { ApiProperty } from '@nestjs/swagger';

/**
 * One Server-Sent Event as the stream carries it: `event: <type>` and `data: <JSON payload>`. Container events carry
 * the transition (containerId, name, previousState, state, reason, actor, exitCode, runnerId, jobId, repository, at);
 * `heartbeat` messages carry `{ at }` only.
 */
export class EventMessageDto {
  /** The event name, e.g. `container:stopped`, or `heartbeat`. */
  @ApiProperty({ example: 'container:stopped' })
  type!: string;

  /** The event's payload. */
  @ApiProperty({ type: 'object', additionalProperties: true })
  data!: Record<string, unknown>;
}
