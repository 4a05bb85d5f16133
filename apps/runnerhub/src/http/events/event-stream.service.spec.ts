import { MessageEvent } from '@nestjs/common';
import { EventEmitter2 } from '@nestjs/event-emitter';
import { EventStreamService, EventStreamOptions } from './event-stream.service';
import { PublicEventFeed } from './public-event-feed';

function collect(service: EventStreamService, options: EventStreamOptions) {
  const messages: MessageEvent[] = [];
  const subscription = service.stream(options).subscribe((message) => messages.push(message));
  return { messages, subscription };
}

describe('EventStreamService', () => {
  let emitter: EventEmitter2;
  let feed: PublicEventFeed;
  let service: EventStreamService;

  beforeEach(() => {
    emitter = new EventEmitter2({ wildcard: true, delimiter: ':' });
    feed = new PublicEventFeed(emitter);
    service = new EventStreamService(feed, 60_000);
  });

  const emitAll = () => {
    emitter.emit('container:stopping', { containerId: 'a', state: 'stopping' });
    emitter.emit('container:stopped', { containerId: 'a', state: 'stopped' });
    emitter.emit('container:stopped', { containerId: 'b', state: 'stopped' });
    emitter.emit('container:removed', { containerId: 'a', state: 'removed' });
    emitter.emit('job:queued', { jobId: 'j' });
    emitter.emit('engine:internal', { secret: 'never streamed' });
  };

  it('forwards every container and job event by default, and nothing internal', () => {
    const { messages, subscription } = collect(service, {});
    emitAll();
    subscription.unsubscribe();
    expect(messages.map((m) => m.type)).toEqual([
      'container:stopping',
      'container:stopped',
      'container:stopped',
      'container:removed',
      'job:queued',
    ]);
    expect(messages[1].data).toEqual({ containerId: 'a', state: 'stopped' });
  });

  it('filters by exact names, families and container id', () => {
    const exact = collect(service, { types: ['container:stopped', 'container:removed'] });
    const family = collect(service, { types: ['container:*'] });
    const one = collect(service, { types: ['container:*'], containerId: 'b' });
    const jobs = collect(service, { types: ['job:*'] });
    emitAll();
    expect(exact.messages.map((m) => m.type)).toEqual(['container:stopped', 'container:stopped', 'container:removed']);
    expect(family.messages).toHaveLength(4);
    expect(one.messages.map((m) => [m.type, (m.data as { containerId: string }).containerId])).toEqual([
      ['container:stopped', 'b'],
    ]);
    expect(jobs.messages.map((m) => m.type)).toEqual(['job:queued']);
    for (const { subscription } of [exact, family, one, jobs]) subscription.unsubscribe();
  });

  it("streams other replicas' events with this replica's, through the same filters", () => {
    const { messages, subscription } = collect(service, { types: ['container:*'], containerId: 'b' });
    emitter.emit('container:created', { containerId: 'b', state: 'created' });
    feed.deliverRemote({ name: 'container:started', payload: { containerId: 'b', state: 'running' } });
    feed.deliverRemote({ name: 'container:started', payload: { containerId: 'other', state: 'running' } });
    feed.deliverRemote({ name: 'job:queued', payload: { jobId: 'j', containerId: 'b' } });
    subscription.unsubscribe();
    expect(messages).toEqual([
      { type: 'container:created', data: { containerId: 'b', state: 'created' } },
      { type: 'container:started', data: { containerId: 'b', state: 'running' } },
    ]);
  });

  it('sends heartbeats, and leaves no listener or timer behind once unsubscribed', () => {
    jest.useFakeTimers();
    try {
      const before = emitter.listenersAny().length;
      const { messages, subscription } = collect(service, { heartbeatMs: 1_000 });
      expect(emitter.listenersAny()).toHaveLength(before + 1);
      jest.advanceTimersByTime(3_500);
      expect(messages.filter((m) => m.type === 'heartbeat')).toHaveLength(3);
      subscription.unsubscribe();
      expect(emitter.listenersAny()).toHaveLength(before);
      jest.advanceTimersByTime(5_000);
      expect(messages).toHaveLength(3);
      expect(jest.getTimerCount()).toBe(0);
    } finally {
      jest.useRealTimers();
    }
  });
});
