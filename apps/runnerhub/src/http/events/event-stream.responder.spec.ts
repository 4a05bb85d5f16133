import { EventEmitter } from 'node:events';
import { loadAppConfig } from '@app/common';
import { MessageEvent } from '@nestjs/common';
import type { Response } from 'express';
import { Registry } from 'prom-client';
import { Observable, Subject } from 'rxjs';
import { HttpErrorCode } from '../api-error-code';
import { ApiHttpError } from '../api-http.error';
import { EventStreamMetrics } from './event-stream.metrics';
import { EventStreamResponder } from './event-stream.responder';
import { EventStreamService } from './event-stream.service';
import { EventStreamSlots } from './event-stream-slots';

const BUFFER_BYTES = 1024;

/** A response whose client reads nothing unless told: what is written waits in writableLength. */
class FakeResponse extends EventEmitter {
  status?: number;
  written = '';
  writableLength = 0;
  destroyed = false;
  writableEnded = false;
  socket = { setNoDelay: jest.fn(), setTimeout: jest.fn() };
  writeHead(status: number) {
    this.status = status;
  }
  write(text: string) {
    this.written += text;
    this.writableLength += Buffer.byteLength(text);
    return true;
  }
  end() {
    this.writableEnded = true;
    this.emit('close');
  }
  destroy() {
    this.destroyed = true;
    this.emit('close');
  }
  /** The client reads everything waiting. */
  drain() {
    this.writableLength = 0;
  }
}

describe(EventStreamResponder.name, () => {
  const viewer = { name: 'viewer-1a2b3c4d', role: 'viewer' as const };
  let events: Subject<MessageEvent>;
  let unsubscribed: number;
  let metrics: EventStreamMetrics;
  let slots: EventStreamSlots;
  let sut: EventStreamResponder;

  beforeEach(() => {
    const config = loadAppConfig({ SSE_MAX_PER_KEY: '2', SSE_MAX: '10', SSE_BUFFER_BYTES: String(BUFFER_BYTES) });
    events = new Subject<MessageEvent>();
    unsubscribed = 0;
    const service = {
      // The real service's contract: one subscription per stream, torn down on unsubscribe.
      stream: () =>
        new Observable<MessageEvent>((subscriber) => {
          const inner = events.subscribe(subscriber);
          return () => {
            unsubscribed += 1;
            inner.unsubscribe();
          };
        }),
    } as unknown as EventStreamService;
    slots = new EventStreamSlots(config);
    metrics = new EventStreamMetrics(new Registry());
    sut = new EventStreamResponder(config, service, slots, metrics);
  });

  function open(): FakeResponse {
    const response = new FakeResponse();
    sut.serve(viewer, response as unknown as Response, {});
    return response;
  }

  const value = async (metric: { get(): Promise<{ values: Array<{ value: number }> }> }) =>
    (await metric.get()).values.reduce((sum, { value: v }) => sum + v, 0);

  it('writes events as Server-Sent Events to a client that reads', () => {
    const response = open();
    expect(response.status).toBe(200);
    events.next({ type: 'container:stopped', data: { containerId: 'a' } });
    expect(response.written).toBe(': stream open\n\nid: 1\nevent: container:stopped\ndata: {"containerId":"a"}\n\n');
  });

  it('refuses a stream past the per-key cap with 429 TOO_MANY_STREAMS naming the variable, and counts it', async () => {
    open();
    open();
    let refusal: unknown;
    try {
      open();
    } catch (error) {
      refusal = error;
    }
    expect(refusal).toBeInstanceOf(ApiHttpError);
    expect(refusal).toMatchObject({ code: HttpErrorCode.TooManyStreams, details: { setting: 'SSE_MAX_PER_KEY' } });
    expect((refusal as ApiHttpError).getStatus()).toBe(429);
    expect((refusal as Error).message).toMatch(/already has 2 event streams open \(SSE_MAX_PER_KEY\): close one/);
    expect(await value(metrics.refused)).toBe(1);
    expect(await value(metrics.open)).toBe(2);
  });

  /** The next tick: what a tick wrote is only then the client's to take (Node corks the socket until then). */
  const tick = () => new Promise((resolve) => process.nextTick(resolve));

  it('drops a client once more than SSE_BUFFER_BYTES wait for it, at its next event, and frees its slot', async () => {
    const slow = open();
    const reading = open();
    const big = { blob: 'x'.repeat(250) };
    for (let i = 0; i < 4; i++) {
      events.next({ type: 'container:x', data: big });
      await tick();
      reading.drain();
    }
    expect(slow.destroyed).toBe(false);
    events.next({ type: 'container:x', data: big });
    expect(slow.destroyed).toBe(true);
    expect(slow.written.match(/^id: /gm)).toHaveLength(4);
    expect(reading.destroyed).toBe(false);
    expect(await value(metrics.slowClientsDropped)).toBe(1);
    expect(slots.openFor(viewer.name)).toBe(1);
    expect(unsubscribed).toBe(1);
  });

  it('does not count what this tick wrote as waiting: a burst of events is not a slow client', () => {
    const response = open();
    for (let i = 0; i < 10; i++) events.next({ type: 'container:x', data: { blob: 'x'.repeat(250) } });
    expect(response.destroyed).toBe(false);
    expect(response.written.match(/^id: /gm)).toHaveLength(10);
  });

  it('frees the slot and the subscription when the client hangs up, once', () => {
    const response = open();
    response.emit('close');
    response.emit('close');
    expect(slots.open).toBe(0);
    expect(unsubscribed).toBe(1);
    open();
    open();
  });

  it('ends the stream and frees its slot if the producer ever fails', () => {
    const response = open();
    events.error(new Error('emitter gone'));
    expect(response.writableEnded).toBe(true);
    expect(slots.open).toBe(0);
  });

  it('ends every stream at shutdown, destroying those whose client is not reading', () => {
    const reading = open();
    reading.drain();
    const slow = open();
    sut.beforeApplicationShutdown();
    expect(reading.writableEnded).toBe(true);
    expect(reading.destroyed).toBe(false);
    expect(slow.destroyed).toBe(true);
    expect(slots.open).toBe(0);
  });

  it('gives the slot back at once when the client left before the stream began', () => {
    const response = new FakeResponse();
    response.destroyed = true;
    sut.serve(viewer, response as unknown as Response, {});
    expect(response.status).toBeUndefined();
    expect(slots.open).toBe(0);
  });
});
