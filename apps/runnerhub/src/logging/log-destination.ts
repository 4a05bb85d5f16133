import { Injectable, OnApplicationShutdown } from '@nestjs/common';
import pino, { DestinationStream } from 'pino';

type AsyncDestination = DestinationStream & { flushSync(): void };

/**
 * Standard output for the JSON logs, written asynchronously: a request's log line is queued and the write happens off
 * the request's path, the lines that arrive meanwhile going out together in the next write. pino's default writes
 * every line with a blocking write(2), one system call per request on the hot path, and a reader that falls behind
 * (a pipe to a log collector) stalls the whole process. Nothing is held back waiting for more: a quiet service's line
 * is written at once.
 *
 * pino flushes what is queued when the process exits normally; Nest's shutdown hooks end with a signal instead, so the
 * queue is flushed here, at the end of the shutdown.
 */
@Injectable()
export class LogDestination implements OnApplicationShutdown {
  private stream?: AsyncDestination;

  /** Made on first use: the pretty format of development writes through its own transport, and needs none. */
  get destination(): DestinationStream {
    this.stream ??= pino.destination({ dest: 1, sync: false }) as AsyncDestination;
    return this.stream;
  }

  onApplicationShutdown(): void {
    this.stream?.flushSync();
  }
}
