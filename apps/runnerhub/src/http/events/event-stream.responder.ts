import { AppConfig } from '@app/common';
import { BeforeApplicationShutdown, Injectable, Logger, MessageEvent } from '@nestjs/common';
import type { Response } from 'express';
import type { Subscription } from 'rxjs';
import { HttpErrorCode } from '../api-error-code';
import { ApiHttpError } from '../api-http.error';
import type { Actor } from '../auth/auth.decorators';
import { EventStreamMetrics } from './event-stream.metrics';
import { EventStreamOptions, EventStreamService } from './event-stream.service';
import { EventStreamSlots, StreamCap } from './event-stream-slots';

const SSE_HEADERS = {
  'Content-Type': 'text/event-stream',
  'Cache-Control': 'private, no-cache, no-store, must-revalidate, max-age=0, no-transform',
  Connection: 'keep-alive',
  // nginx would otherwise hold events back in its buffer.
  'X-Accel-Buffering': 'no',
};

const CAP_SETTING: Record<StreamCap, string> = { 'per-key': 'SSE_MAX_PER_KEY', total: 'SSE_MAX' };

interface OpenStream {
  actor: Actor;
  response: Response;
  subscription?: Subscription;
  lastId: number;
  /**
   * Bytes written in the current tick. Node corks a response's socket for the rest of the tick in which it is
   * written to, so these still count in `writableLength` though the client has had no chance to take them yet.
   */
  writtenThisTick: number;
}

/**
 * Serves an event stream on an HTTP response: takes a slot (429 TOO_MANY_STREAMS at a cap, before anything is
 * written), writes the events as Server-Sent Events, and gives the slot back however the stream ends (the client
 * hangs up, the service shuts down, the producer fails, the client is dropped).
 *
 * It writes to the response itself rather than through Nest's `@Sse()`, which queues events in front of the socket
 * in a stream of its own, out of sight: here every event is written straight to the response, so what waits for the
 * client is exactly `response.writableLength`, and a client whose waiting bytes pass SSE_BUFFER_BYTES (it stopped
 * reading, or reads slower than events come) is dropped at its next event, instead of being buffered without bound.
 * A client that does want the events reconnects, as EventSource does by itself.
 */
@Injectable()
export class EventStreamResponder implements BeforeApplicationShutdown {
  private readonly logger = new Logger('EventStream');
  private readonly streams = new Set<OpenStream>();
  private readonly bufferBytes: number;

  constructor(
    config: AppConfig,
    private readonly events: EventStreamService,
    private readonly slots: EventStreamSlots,
    private readonly metrics: EventStreamMetrics,
  ) {
    this.bufferBytes = config.streams.bufferBytes;
  }

  /** Streams to `response` until one side ends it; throws 429 TOO_MANY_STREAMS (nothing written) at a cap. */
  serve(actor: Actor, response: Response, options: EventStreamOptions): void {
    const claim = this.slots.claim(actor.name);
    if (!claim.granted) {
      this.metrics.refused.inc({ cap: claim.cap });
      throw tooManyStreams(claim.cap, claim.limit);
    }
    const stream: OpenStream = { actor, response, lastId: 0, writtenThisTick: 0 };
    let ended = false;
    const end = () => {
      if (ended) return;
      ended = true;
      stream.subscription?.unsubscribe();
      this.streams.delete(stream);
      claim.release();
      this.metrics.open.set(this.slots.open);
    };
    this.streams.add(stream);
    this.metrics.open.set(this.slots.open);
    // 'close' comes on every path: the client went, the response was ended or destroyed, the socket failed.
    response.once('close', end);
    if (response.destroyed) return end();

    response.writeHead(200, SSE_HEADERS);
    // Events go out as they happen, not when Nagle's algorithm decides; idle sockets are kept by the heartbeat.
    response.socket?.setNoDelay(true);
    response.socket?.setTimeout(0);
    response.write(': stream open\n\n');
    stream.subscription = this.events.stream(options).subscribe({
      next: (message) => this.write(stream, message),
      // The producer (the emitter and a timer) does not fail or finish; if it ever did, the stream ends cleanly.
      error: () => response.end(),
      complete: () => response.end(),
    });
    // A listener or timer must not outlive a stream that ended while subscribing.
    if (ended) stream.subscription.unsubscribe();
  }

  /** Ends every stream, so that shutdown does not wait for clients that never hang up. */
  beforeApplicationShutdown(): void {
    for (const { response } of [...this.streams]) {
      response.end();
      // A client that does not read would hold the connection, and with it the server's close, open.
      if (response.writableLength > 0) response.destroy();
    }
  }

  private write(stream: OpenStream, message: MessageEvent): void {
    const { response } = stream;
    if (response.destroyed || response.writableEnded) return;
    // What the client has been offered and not taken: the bytes queued for its socket, less this tick's own.
    const waiting = response.writableLength - stream.writtenThisTick;
    if (waiting > this.bufferBytes) return this.drop(stream, waiting);
    stream.lastId += 1;
    const text = `id: ${stream.lastId}\nevent: ${String(message.type)}\ndata: ${JSON.stringify(message.data)}\n\n`;
    if (stream.writtenThisTick === 0) process.nextTick(() => (stream.writtenThisTick = 0));
    stream.writtenThisTick += Buffer.byteLength(text);
    response.write(text);
  }

  private drop(stream: OpenStream, waiting: number): void {
    this.logger.warn(
      `Dropped the event stream of ${stream.actor.name}: its client is not reading, and ${waiting} bytes were ` +
        `waiting for it, more than SSE_BUFFER_BYTES (${this.bufferBytes})`,
    );
    this.metrics.slowClientsDropped.inc();
    // Not end(): that would queue behind what the client is not reading. The memory goes with the socket.
    stream.response.destroy();
  }
}

function tooManyStreams(cap: StreamCap, limit: number): ApiHttpError {
  const message =
    cap === 'per-key'
      ? `This API key already has ${limit} event streams open (${CAP_SETTING[cap]}): close one before opening another`
      : `RunnerHub already serves ${limit} event streams (${CAP_SETTING[cap]}): try again later`;
  return new ApiHttpError(429, HttpErrorCode.TooManyStreams, message, { setting: CAP_SETTING[cap], limit });
}
