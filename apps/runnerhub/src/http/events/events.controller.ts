import { Controller, Get, Query, Res } from '@nestjs/common';
import { ApiExtraModels, ApiOkResponse, ApiOperation, ApiTags, getSchemaPath } from '@nestjs/swagger';
import type { Response } from 'express';
import { ApiFailures } from '../api-responses.decorator';
import { Actor, CurrentActor, RequireRole } from '../auth/auth.decorators';
import { EventMessageDto } from './dto/event-message.dto';
import { StreamEventsQueryDto } from './dto/stream-events-query.dto';
import { EventStreamResponder } from './event-stream.responder';

/** /api/events: the lifecycle events as Server-Sent Events. */
@ApiTags('events')
@Controller('events')
export class EventsController {
  constructor(private readonly streams: EventStreamResponder) {}

  @Get()
  @RequireRole('viewer')
  @ApiOperation({
    summary: 'Server-Sent Events of every lifecycle event, with filters and a heartbeat',
    description:
      'Each message has `event: <name>` (e.g. `container:stopped`) and `data: <JSON payload>`. A `heartbeat` ' +
      'message comes every `heartbeatMs` (default 15 s). Send the API key as `Authorization: Bearer <key>` ' +
      '(read the stream with fetch; a browser EventSource cannot send the header). An API key may hold ' +
      'SSE_MAX_PER_KEY streams at once (20 by default) and the service SSE_MAX (500): beyond, 429 ' +
      'TOO_MANY_STREAMS. A client that stops reading is disconnected once SSE_BUFFER_BYTES wait for it.',
  })
  @ApiExtraModels(EventMessageDto)
  @ApiOkResponse({
    description: 'An endless stream of `text/event-stream` messages',
    content: { 'text/event-stream': { schema: { $ref: getSchemaPath(EventMessageDto) } } },
  })
  @ApiFailures(400, 429)
  streamEvents(
    @Query() query: StreamEventsQueryDto,
    @CurrentActor() actor: Actor,
    // The responder writes the stream itself, to see what waits for a slow client (see EventStreamResponder).
    @Res() response: Response,
  ): void {
    this.streams.serve(actor, response, {
      types: query.type,
      containerId: query.containerId,
      heartbeatMs: query.heartbeatMs,
    });
  }
}
