import { Module } from '@nestjs/common';
import { EventStreamService } from './event-stream.service';
import { EventsController } from './events.controller';

/** /api/events: Server-Sent Events over the application's event emitter. */
@Module({
  controllers: [EventsController],
  providers: [EventStreamService],
  exports: [EventStreamService],
})
export class EventsApiModule {}
