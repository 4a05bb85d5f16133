import { Controller, MessageEvent, Query, Sse } from '@nestjs/common';
import { ApiExtraModels, ApiOkResponse, ApiOperation, ApiTags, getSchemaPath } from '@nestjs/swagger';
import { Observable } from 'rxjs';
import { ApiFailures } from '../api-responses.decorator';
import { RequireRole } from '../auth/auth.decorators';
import { RawResponse } from '../response-envelope.interceptor';
import { EventMessageDto } from './dto/event-message.dto';
import { StreamEventsQueryDto } from './dto/stream-events-query.dto';
import { EventStreamService } from './event-stream.service';

/** /api/events: the lifecycle events as Server-Sent Events. */
@ApiTags('events')
@Controller('events')
export class EventsController {
  constructor(private readonly events: EventStreamService) {}

  @Sse()
  @RequireRole('viewer')
  @RawResponse()
  @ApiOperation({
    summary: 'Server-Sent Events of every lifecycle event, with filters and a heartbeat',
    description:
      'Each message has `event: <name>` (e.g. `container:stopped`) and `data: <JSON payload>`. A `heartbeat` ' +
      'message comes every `heartbeatMs` (default 15 s). Send the API key as `Authorization: Bearer <key>` ' +
      '(read the stream with fetch; a browser EventSource cannot send the header).',
  })
  @ApiExtraModels(EventMessageDto)
  @ApiOkResponse({
    description: 'An endless stream of `text/event-stream` messages',
    content: { 'text/event-stream': { schema: { $ref: getSchemaPath(EventMessageDto) } } },
  })
  @ApiFailures(400)
  streamEvents(@Query() query: StreamEventsQueryDto): Observable<MessageEvent> {
    return this.events.stream({ types: query.type, containerId: query.containerId, heartbeatMs: query.heartbeatMs });
  }
}
