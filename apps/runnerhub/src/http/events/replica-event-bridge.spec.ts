import { Logger } from '@nestjs/common';
import { EventEmitter2 } from '@nestjs/event-emitter';
import { loadAppConfig } from '@app/common';
import { Registry } from 'prom-client';
import { PublicEvent, PublicEventFeed } from './public-event-feed';
import { ReplicaEventBridge } from './replica-event-bridge';
import { ReplicaEventChannel } from './replica-event-channel';
import { NOTIFY_PAYLOAD_MAX_BYTES, ReplicaEventEnvelope } from './replica-event-envelope';
import { ReplicaEventMetrics } from './replica-event.metrics';

/** The channel at its boundary: what was notified, and a way to deliver what PostgreSQL would. */
class FakeChannel extends ReplicaEventChannel {
  readonly sent: string[] = [];
  opened = false;
  closed = false;
  failWith?: Error;
  private onMessage?: (text: string) => void;

  open(onMessage: (text: string) => void): Promise<void> {
    this.opened = true;
    this.onMessage = onMessage;
    return Promise.resolve();
  }
  notify(text: string): Promise<void> {
    if (this.failWith) return Promise.reject(this.failWith);
    this.sent.push(text);
    return Promise.resolve();
  }
  close(): Promise<void> {
    this.closed = true;
    return Promise.resolve();
  }
  deliver(envelope: ReplicaEventEnvelope | string): void {
    this.onMessage!(typeof envelope === 'string' ? envelope : JSON.stringify(envelope));
  }
  get envelopes(): ReplicaEventEnvelope[] {
    return this.sent.map((text) => JSON.parse(text) as ReplicaEventEnvelope);
  }
}

const POSTGRES = { DATABASE_URL: 'postgres://runnerhub@db.invalid/runnerhub' };
const transition = (containerId: string, reason = 'created') => ({ containerId, state: 'created', reason });
const settled = () => new Promise((resolve) => setImmediate(resolve));

describe(ReplicaEventBridge.name, () => {
  let emitter: EventEmitter2;
  let feed: PublicEventFeed;
  let channel: FakeChannel;
  let registry: Registry;
  let sut: ReplicaEventBridge;
  let warn: jest.SpyInstance;
  let log: jest.SpyInstance;

  async function start(env: Record<string, string> = POSTGRES): Promise<void> {
    emitter = new EventEmitter2({ wildcard: true, delimiter: ':' });
    feed = new PublicEventFeed(emitter);
    channel = new FakeChannel();
    registry = new Registry();
    sut = new ReplicaEventBridge(loadAppConfig(env), feed, channel, 'replica-a', new ReplicaEventMetrics(registry));
    await sut.onApplicationBootstrap();
  }

  beforeEach(() => {
    warn = jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
    log = jest.spyOn(Logger.prototype, 'log').mockImplementation(() => undefined);
  });
  afterEach(async () => {
    await sut.onApplicationShutdown();
    warn.mockRestore();
    log.mockRestore();
  });

  const published = async (outcome: string) =>
    (await registry.getSingleMetric('runnerhub_replica_events_published_total')!.get()).values.find(
      (value) => value.labels.outcome === outcome,
    )?.value;

  it('publishes each public event with its origin, name, payload, time and sequence, and nothing internal', async () => {
    await start();
    emitter.emit('container:created', transition('c1'));
    emitter.emit('job:queued', { jobId: 'j1' });
    emitter.emit('engine:internal', { secret: 'stays here' });
    await settled();
    expect(channel.envelopes).toEqual([
      { origin: 'replica-a', name: 'container:created', payload: transition('c1'), at: expect.any(String), seq: 1 },
      { origin: 'replica-a', name: 'job:queued', payload: { jobId: 'j1' }, at: expect.any(String), seq: 2 },
    ]);
    expect(channel.sent.every((text) => !text.includes('"trimmed"'))).toBe(true);
    expect(await published('sent')).toBe(2);
  });

  it("hands other replicas' events to the streams only, skips its own, and re-emits nothing", async () => {
    await start();
    const streamed: PublicEvent[] = [];
    const subscription = feed.all().subscribe((event) => streamed.push(event));
    const onEmitter = jest.fn();
    emitter.onAny(onEmitter);

    channel.deliver({ origin: 'replica-a', name: 'container:removed', payload: transition('mine'), at: 'x' });
    channel.deliver({ origin: 'replica-b', name: 'container:created', payload: transition('theirs'), at: 'x' });
    channel.deliver({ origin: 'replica-b', name: 'engine:internal', payload: {}, at: 'x' });
    channel.deliver('not json');
    channel.deliver(JSON.stringify({ hello: 'world' }));
    subscription.unsubscribe();

    expect(streamed).toEqual([{ name: 'container:created', payload: transition('theirs') }]);
    expect(onEmitter).not.toHaveBeenCalled();
    // Nothing received was sent on again: replicas do not echo each other.
    expect(channel.sent).toEqual([]);
    expect(warn).toHaveBeenCalledTimes(2);
  });

  it('trims the longest text fields of an event too large for a NOTIFY, keeping its ids', async () => {
    await start();
    emitter.emit('container:error', { ...transition('c-big', 'x'.repeat(20_000)), name: 'n'.repeat(300) });
    await settled();
    expect(Buffer.byteLength(channel.sent[0])).toBeLessThanOrEqual(NOTIFY_PAYLOAD_MAX_BYTES);
    const [envelope] = channel.envelopes;
    expect(envelope.trimmed).toEqual(['reason']);
    const payload = envelope.payload as { containerId: string; reason: string; name: string };
    expect(payload.containerId).toBe('c-big');
    expect(payload.name).toBe('n'.repeat(300));
    expect(payload.reason).toMatch(/^x{7000,}…$/);
    expect(await published('trimmed')).toBe(1);
  });

  it('trims multi-byte text to the byte limit too', async () => {
    await start();
    emitter.emit('container:error', transition('c-utf8', 'é€𝄞'.repeat(3_000)));
    await settled();
    expect(Buffer.byteLength(channel.sent[0])).toBeLessThanOrEqual(NOTIFY_PAYLOAD_MAX_BYTES);
    expect(channel.envelopes[0].trimmed).toEqual(['reason']);
  });

  it('does not send an event that no trimming brings under the limit, and counts it', async () => {
    await start();
    emitter.emit('job:queued', { jobId: 'j-big', labels: Array.from({ length: 2_000 }, (_, i) => `label-${i}`) });
    await settled();
    expect(channel.sent).toEqual([]);
    expect(await published('too_large')).toBe(1);
    expect(warn).toHaveBeenCalledWith(expect.stringMatching(/^job:queued was not sent .* bytes, more than/));
  });

  it('never fails the emitter when a NOTIFY fails: counts every failure, warns once per run of failures', async () => {
    await start();
    channel.failWith = new Error('connection terminated');
    expect(() => {
      emitter.emit('container:created', transition('c1'));
      emitter.emit('container:created', transition('c2'));
    }).not.toThrow();
    await settled();
    expect(await published('failed')).toBe(2);
    expect(warn).toHaveBeenCalledTimes(1);
    expect(warn).toHaveBeenCalledWith(
      expect.stringMatching(/could not be sent to the other replicas \(connection terminated\)/),
    );
    channel.failWith = undefined;
    emitter.emit('container:created', transition('c3'));
    await settled();
    expect(await published('sent')).toBe(1);
    expect(log).toHaveBeenCalledWith('Events reach the other replicas again');
  });

  it('does nothing on SQLite, where there is one process', async () => {
    await start({});
    emitter.emit('container:created', transition('c1'));
    await settled();
    expect(channel.opened).toBe(false);
    expect(channel.sent).toEqual([]);
    expect(emitter.listenersAny()).toHaveLength(0);
  });

  it('stops publishing and closes the channel at shutdown', async () => {
    await start();
    await sut.onApplicationShutdown();
    emitter.emit('container:created', transition('c1'));
    await settled();
    expect(channel.closed).toBe(true);
    expect(channel.sent).toEqual([]);
    expect(emitter.listenersAny()).toHaveLength(0);
  });
});
