import { Logger } from '@nestjs/common';
import type Dockerode from 'dockerode';
import type { IncomingMessage } from 'node:http';
import { BehaviorSubject, distinctUntilChanged, Observable, Subject } from 'rxjs';
import { describeEndpoint, EngineTarget } from './docker-client.factory';
import { DEFAULT_ENGINE_EVENT_STREAM_OPTIONS, EngineEventStreamOptions } from './docker-options';
import { mapEngineError } from './engine-error.mapper';
import { LineSplitter, parseEngineEventLine } from './engine-event.parser';
import type { EngineEvent, EngineStreamStatus } from './engine.types';
import { EventResumeCursor } from './event-resume.cursor';

interface EventsQuery {
  since?: string;
  filters: { type: string[]; label?: string[] };
  abortSignal: AbortSignal;
}

/** One attempt at following /events: the response once it came, and a way to tear it all down. */
interface Connection {
  controller: AbortController;
  response?: IncomingMessage;
  closed: boolean;
}

/**
 * Follows the engine's container events for as long as it is started. When the stream drops (engine restart,
 * socket error) it reconnects with exponential back-off and resumes from the last event it delivered, so an event
 * that happened while it was away still arrives, once. status$ says whether it is connected: subscribers resync
 * their view of the engine on every 'connected', since the engine only keeps its last 256 events.
 *
 * Nothing is ever thrown into subscribers: failures are logged and retried, and events$ only completes when the
 * module is destroyed.
 */
export class EngineEventStream {
  private readonly logger = new Logger(EngineEventStream.name);
  /** The engine's name in the fleet. */
  readonly engineName: string;
  private readonly endpoint: string;
  private readonly options: EngineEventStreamOptions;
  private readonly eventsSubject = new Subject<EngineEvent>();
  private readonly statusSubject = new BehaviorSubject<EngineStreamStatus>('disconnected');
  private readonly cursor: EventResumeCursor;
  private running = false;
  private connection: Connection | undefined;
  private retryTimer: NodeJS.Timeout | undefined;
  private backoffMs: number;

  readonly events$: Observable<EngineEvent> = this.eventsSubject.asObservable();
  readonly status$: Observable<EngineStreamStatus> = this.statusSubject.pipe(distinctUntilChanged());

  constructor(
    private readonly client: Dockerode,
    target: EngineTarget,
    options?: Partial<EngineEventStreamOptions>,
  ) {
    this.engineName = target.name;
    this.endpoint = describeEndpoint(target.endpoint);
    this.options = { ...DEFAULT_ENGINE_EVENT_STREAM_OPTIONS, ...options };
    this.backoffMs = this.options.initialBackoffMs;
    this.cursor = new EventResumeCursor(this.options.resumeOverlapMs);
  }

  get status(): EngineStreamStatus {
    return this.statusSubject.value;
  }

  /** Starts following; a no-op when already started. Returns at once: status$ tells when the stream is up. */
  start(): void {
    if (this.running) return;
    this.running = true;
    this.connect();
  }

  /** Stops following and closes the HTTP stream. start() again resumes after the last delivered event. */
  stop(): void {
    this.running = false;
    clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    this.close(this.connection);
    this.connection = undefined;
    this.statusSubject.next('disconnected');
  }

  /** For EngineRegistry: the stream ends with its engine's connection, and completes for its subscribers. */
  shutDown(): void {
    this.stop();
    this.eventsSubject.complete();
    this.statusSubject.complete();
  }

  private connect(): void {
    this.retryTimer = undefined;
    const connection: Connection = { controller: new AbortController(), closed: false };
    this.connection = connection;
    const since = this.cursor.since();
    const query: EventsQuery = { filters: this.filters(), abortSignal: connection.controller.signal };
    if (since !== undefined) query.since = since;

    const connectTimer = setTimeout(
      () => this.dropped(connection, `no answer within ${this.options.connectTimeoutMs} ms`),
      this.options.connectTimeoutMs,
    );
    // dockerode types since as a number; the engine takes "seconds.nanoseconds", which a number cannot hold exactly.
    const getEvents = this.client.getEvents.bind(this.client) as unknown as (
      q: EventsQuery,
    ) => Promise<IncomingMessage>;
    getEvents(query).then(
      (response) => {
        clearTimeout(connectTimer);
        if (connection.closed) {
          response.destroy();
          return;
        }
        this.connected(connection, response, since);
      },
      (error: unknown) => {
        clearTimeout(connectTimer);
        this.dropped(
          connection,
          mapEngineError(error, { endpoint: this.endpoint, operation: 'follow events' }).message,
        );
      },
    );
  }

  private connected(connection: Connection, response: IncomingMessage, since: string | undefined): void {
    connection.response = response;
    this.backoffMs = this.options.initialBackoffMs;
    const engineNow = Date.parse(String(response.headers.date ?? ''));
    this.cursor.markConnected(Number.isNaN(engineNow) ? Date.now() : engineNow);
    this.logger.log(`Following engine events at ${this.endpoint}${since ? ` from ${since}` : ''}`);

    const lines = new LineSplitter();
    response.on('data', (chunk: Buffer) => {
      for (const line of lines.push(chunk)) this.deliver(line);
    });
    response.once('end', () => this.dropped(connection, 'the engine closed the stream'));
    response.once('close', () => this.dropped(connection, 'the connection closed'));
    response.once('error', (error) => this.dropped(connection, error.message));
    this.statusSubject.next('connected');
  }

  private deliver(line: string): void {
    if (line.trim() === '') return;
    const parsed = parseEngineEventLine(line);
    if (!parsed.ok) {
      this.logger.warn(`Ignoring an engine event line: ${parsed.reason}`);
      return;
    }
    if (!this.cursor.accept(parsed.event)) return;
    this.eventsSubject.next(parsed.event);
  }

  /** Called once per connection however it ends (end, close, error, timeout); schedules the next attempt. */
  private dropped(connection: Connection, reason: string): void {
    if (connection.closed) return;
    this.close(connection);
    if (this.connection !== connection) return;
    this.connection = undefined;
    this.statusSubject.next('disconnected');
    if (!this.running) return;
    const delay = this.backoffMs;
    this.backoffMs = Math.min(this.backoffMs * 2, this.options.maxBackoffMs);
    this.logger.warn(`Engine event stream from ${this.endpoint} dropped (${reason}); reconnecting in ${delay} ms`);
    this.retryTimer = setTimeout(() => this.connect(), delay);
  }

  private close(connection: Connection | undefined): void {
    if (!connection || connection.closed) return;
    connection.closed = true;
    connection.controller.abort();
    connection.response?.destroy();
  }

  private filters(): EventsQuery['filters'] {
    const labels = this.options.labels;
    if (!labels || Object.keys(labels).length === 0) return { type: ['container'] };
    return {
      type: ['container'],
      label: Object.entries(labels).map(([key, value]) => (value === true ? key : `${key}=${value}`)),
    };
  }
}
