import { Module } from '@nestjs/common';
import { EventStreamMetrics } from './event-stream.metrics';
import { EventStreamResponder } from './event-stream.responder';
import { EventStreamService } from './event-stream.service';
import { EventStreamSlots } from './event-stream-slots';
import { EventsController } from './events.controller';
import { PublicEventFeed } from './public-event-feed';
import { ReplicaEventBridge } from './replica-event-bridge';
import { PgReplicaEventChannel, ReplicaEventChannel } from './replica-event-channel';
import { ReplicaEventMetrics } from './replica-event.metrics';
import { newReplicaId, REPLICA_ID } from './replica-identity';

/**
 * /api/events: Server-Sent Events of the public events, with caps per key and in all. On PostgreSQL the events of
 * every replica on the database, bridged by LISTEN/NOTIFY.
 */
@Module({
  controllers: [EventsController],
  providers: [
    PublicEventFeed,
    EventStreamService,
    EventStreamSlots,
    EventStreamMetrics,
    EventStreamResponder,
    { provide: REPLICA_ID, useFactory: newReplicaId },
    { provide: ReplicaEventChannel, useClass: PgReplicaEventChannel },
    ReplicaEventMetrics,
    ReplicaEventBridge,
  ],
  exports: [EventStreamService],
})
export class EventsApiModule {}
