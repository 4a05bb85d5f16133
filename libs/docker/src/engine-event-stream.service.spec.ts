import { loadAppConfig } from '@app/common';
import { Logger } from '@nestjs/common';
import type Dockerode from 'dockerode';
import { PassThrough } from 'node:stream';
import type { EngineEvent, EngineStreamStatus } from './engine.types';
import { EngineEventStream } from './engine-event-stream.service';

interface Query {
  since?: string;
  filters: unknown;
  abortSignal: AbortSignal;
}

/** Stands in for dockerode: each getEvents call takes the next scripted answer. */
class FakeEngine {
  readonly queries: Query[] = [];
  readonly responses: PassThrough[] = [];
  private readonly script: Array<'connect' | 'refuse' | 'hang'> = [];

  then(...steps: Array<'connect' | 'refuse' | 'hang'>): this {
    this.script.push(...steps);
    return this;
  }

  getEvents(query: Query): Promise<PassThrough> {
    this.queries.push({ ...query });
    const step = this.script.shift() ?? 'refuse';
    if (step === 'refuse') {
      return Promise.reject(Object.assign(new Error('connect ECONNREFUSED /fake.sock'), { code: 'ECONNREFUSED' }));
    }
    if (step === 'hang') return new Promise(() => undefined);
    const response = Object.assign(new PassThrough(), { headers: { date: 'Sun, 29 Nov 2026 02:00:00 GMT' } });
    this.responses.push(response);
    return Promise.resolve(response);
  }

  get current(): PassThrough {
    return this.responses[this.responses.length - 1];
  }
}

const line = (action: string, timeNano: string, id = 'c1') =>
  `${JSON.stringify({ Type: 'container', Action: action, Actor: { ID: id, Attributes: { name: id } }, time: Number(timeNano.slice(0, -9)), timeNano: 0 }).replace('"timeNano":0', `"timeNano":${timeNano}`)}\n`;

describe('EngineEventStream (against a scripted engine)', () => {
  const config = loadAppConfig({ DOCKER_HOST: 'unix:///fake.sock' });
  let engine: FakeEngine;
  let stream: EngineEventStream;
  let events: EngineEvent[];
  let statuses: EngineStreamStatus[];
  let warn: jest.SpyInstance;

  function build(options: Record<string, unknown> = {}): void {
    stream = new EngineEventStream(
      engine as unknown as Dockerode,
      { name: 'default', endpoint: config.docker },
      {
        initialBackoffMs: 100,
        maxBackoffMs: 400,
        connectTimeoutMs: 1_000,
        resumeOverlapMs: 1_000,
        ...options,
      },
    );
    events = [];
    statuses = [];
    stream.events$.subscribe((event) => events.push(event));
    stream.status$.subscribe((status) => statuses.push(status));
  }

  beforeEach(() => {
    jest.useFakeTimers();
    jest.spyOn(Logger.prototype, 'log').mockImplementation(() => undefined);
    warn = jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
    engine = new FakeEngine();
  });

  afterEach(() => {
    stream.shutDown();
    jest.useRealTimers();
    jest.restoreAllMocks();
  });

  it('connects live, filtered to containers, and delivers events as lines arrive, even split mid-line', async () => {
    build({ labels: { 'runnerhub.managed': 'true', 'runnerhub.record': true } });
    engine.then('connect');
    stream.start();
    await jest.advanceTimersByTimeAsync(0);
    expect(engine.queries[0]).toMatchObject({
      filters: { type: ['container'], label: ['runnerhub.managed=true', 'runnerhub.record'] },
    });
    expect(engine.queries[0].since).toBeUndefined();
    expect(statuses).toEqual(['disconnected', 'connected']);

    const text = line('create', '1795918079000000001') + line('start', '1795918079000000002');
    engine.current.write(text.slice(0, 30));
    engine.current.write(text.slice(30, 150));
    engine.current.write(text.slice(150));
    await jest.advanceTimersByTimeAsync(0);
    expect(events.map((e) => [e.action, e.timeNano])).toEqual([
      ['create', '1795918079000000001'],
      ['start', '1795918079000000002'],
    ]);
  });

  it('reconnects after a drop, resumes from the last event with since, and does not deliver it twice', async () => {
    build();
    engine.then('connect', 'connect');
    stream.start();
    await jest.advanceTimersByTimeAsync(0);
    engine.current.write(line('create', '1795918079000000001') + line('start', '1795918079500000000'));
    await jest.advanceTimersByTimeAsync(0);

    engine.current.end();
    await jest.advanceTimersByTimeAsync(0);
    expect(stream.status).toBe('disconnected');
    expect(engine.queries).toHaveLength(1);

    await jest.advanceTimersByTimeAsync(100);
    expect(engine.queries).toHaveLength(2);
    expect(engine.queries[1].since).toBe('1795918078.500000000');
    // The engine replays what lies after since, including what was already delivered.
    engine.current.write(line('create', '1795918079000000001') + line('start', '1795918079500000000'));
    engine.current.write(line('die', '1795918080000000000'));
    await jest.advanceTimersByTimeAsync(0);
    expect(events.map((e) => e.action)).toEqual(['create', 'start', 'die']);
    expect(statuses).toEqual(['disconnected', 'connected', 'disconnected', 'connected']);
  });

  it('backs off exponentially to the ceiling while the engine is away, and resets after a connect', async () => {
    build();
    engine.then('refuse', 'refuse', 'refuse', 'refuse', 'connect', 'refuse', 'connect');
    stream.start();
    const attemptsAt: number[] = [];
    const started = Date.now();
    for (let elapsed = 0; elapsed <= 1_500 && engine.queries.length < 7; elapsed += 10) {
      const before = engine.queries.length;
      await jest.advanceTimersByTimeAsync(10);
      if (engine.queries.length > before) attemptsAt.push(Date.now() - started);
    }
    // Attempts at 0 (before the loop), then after 100, 200, 400, 400 (ceiling): connect. Then the connection drops
    // and the next delays start again from 100.
    const gaps = attemptsAt.map((at, i) => at - (i === 0 ? 0 : attemptsAt[i - 1]));
    expect(gaps.slice(0, 4)).toEqual([100, 200, 400, 400]);
    expect(stream.status).toBe('connected');

    engine.current.destroy(new Error('read ECONNRESET'));
    await jest.advanceTimersByTimeAsync(100);
    expect(engine.queries).toHaveLength(6);
    await jest.advanceTimersByTimeAsync(200);
    expect(engine.queries).toHaveLength(7);
    expect(stream.status).toBe('connected');
    expect(warn).toHaveBeenCalledWith(expect.stringContaining('is not reachable'));
  });

  it('gives up on an attempt that gets no answer, aborts it and tries again', async () => {
    build();
    engine.then('hang', 'connect');
    stream.start();
    await jest.advanceTimersByTimeAsync(999);
    expect(engine.queries[0].abortSignal.aborted).toBe(false);
    await jest.advanceTimersByTimeAsync(1);
    expect(engine.queries[0].abortSignal.aborted).toBe(true);
    await jest.advanceTimersByTimeAsync(100);
    expect(stream.status).toBe('connected');
  });

  it('logs and skips a malformed line without dropping the stream', async () => {
    build();
    engine.then('connect');
    stream.start();
    await jest.advanceTimersByTimeAsync(0);
    engine.current.write('{"broken\n' + line('start', '1795918079000000002'));
    await jest.advanceTimersByTimeAsync(0);
    expect(events.map((e) => e.action)).toEqual(['start']);
    expect(warn).toHaveBeenCalledWith(expect.stringContaining('Ignoring an engine event line'));
    expect(stream.status).toBe('connected');
  });

  it('after a connection that saw no events, resumes from the engine time of that connection', async () => {
    build();
    engine.then('connect', 'connect');
    stream.start();
    await jest.advanceTimersByTimeAsync(0);
    engine.current.end();
    await jest.advanceTimersByTimeAsync(100);
    expect(engine.queries[1].since).toBe(`${Date.UTC(2026, 10, 29, 2, 0, 0) / 1000 - 1}.000000000`);
  });

  it('stop() destroys the HTTP stream and schedules nothing more; destroy completes the observables', async () => {
    build();
    engine.then('connect', 'connect');
    stream.start();
    await jest.advanceTimersByTimeAsync(0);
    const response = engine.current;
    stream.stop();
    expect(response.destroyed).toBe(true);
    expect(stream.status).toBe('disconnected');
    await jest.advanceTimersByTimeAsync(10_000);
    expect(engine.queries).toHaveLength(1);

    let completed = false;
    stream.events$.subscribe({ complete: () => (completed = true) });
    stream.shutDown();
    expect(completed).toBe(true);
  });
});
