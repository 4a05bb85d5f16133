import { Module } from '@nestjs/common';
import { EventStreamMetrics } from './event-stream.metrics';
import { EventStreamResponder } from './event-stream.responder';
import { EventStreamService } from './event-stream.service';
import { EventStreamSlots } from './event-stream-slots';
import { EventsController } from './events.controller';

/** /api/events: Server-Sent Events over the application's event emitter, with caps per key and in all. */
@Module({
  controllers: [EventsController],
  providers: [EventStreamService, EventStreamSlots, EventStreamMetrics, EventStreamResponder],
  exports: [EventStreamService],
})
export class EventsApiModule {}
