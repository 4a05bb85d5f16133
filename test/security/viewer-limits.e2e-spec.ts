import { connect, Socket } from 'node:net';
import { EventEmitter2 } from '@nestjs/event-emitter';
import { call, errorOf } from '../support/access';
import { API_KEYS, ApiSuite, startApiSuite } from '../support/api-suite';
import { testDatabaseKinds } from '../support/databases';
import { inspectContainer } from '../support/engine-cli';
import { SseClient } from '../support/sse-client';
import { TEST_IMAGE } from '../support/test-env';
import { waitFor } from '../support/wait-for';
import { scrapeMetric } from '../support/metrics-scrape';

const PER_KEY = 3;
const IN_ALL = 5;
const BUFFER_BYTES = 4_096;
const READS_PER_MINUTE = 30;
const LOGS_MAX_BYTES = 65_536;
/** Keys of this suite beside the api-suite's three, so that each limit is met by a key of its own. */
const SECOND_VIEWER = 'viewer-limits-second-viewer-key-0123';
const READER = 'viewer-limits-reader-key-0123456789';

/**
 * Issue 13, attack 5: viewer resource exhaustion. Event streams had no cap and no slow-client handling, reads were
 * never rate limited, and `logs?tail=10000` had no byte cap. Performed with viewer keys against the running service.
 */
describe.each(testDatabaseKinds())('viewer limits on %s', (kind) => {
  let suite: ApiSuite;
  const streams: SseClient[] = [];
  const sockets: Socket[] = [];

  beforeAll(async () => {
    suite = await startApiSuite(kind, 'security-viewer', {
      RUNNERHUB_API_KEYS: [
        `${API_KEYS.admin}:admin`,
        `${API_KEYS.operator}:operator`,
        `${API_KEYS.viewer}:viewer`,
        `${SECOND_VIEWER}:viewer`,
        `${READER}:viewer`,
      ].join(','),
      SSE_MAX_PER_KEY: String(PER_KEY),
      SSE_MAX: String(IN_ALL),
      SSE_BUFFER_BYTES: String(BUFFER_BYTES),
      RATE_LIMIT_READS_PER_MINUTE: String(READS_PER_MINUTE),
      LOGS_MAX_BYTES: String(LOGS_MAX_BYTES),
    });
  });

  afterEach(async () => {
    for (const stream of streams.splice(0)) stream.close();
    for (const socket of sockets.splice(0)) socket.destroy();
    await waitFor(async () => (await scrapeMetric(suite.baseUrl, 'runnerhub_event_streams_open')) === 0, {
      description: 'every event stream closed',
    });
  });

  afterAll(async () => {
    await suite?.close();
  });

  async function open(key: string): Promise<SseClient> {
    const stream = await SseClient.open(`${suite.baseUrl}/api/events`, key);
    streams.push(stream);
    return stream;
  }

  async function expectTooManyStreams(key: string, setting: string): Promise<void> {
    const refused = await open(key);
    expect(refused.response.status).toBe(429);
    expect(refused.response.headers.get('content-type')).toMatch(/^application\/json/);
    const body = await refused.response.json();
    expect(body).toMatchObject({ success: false, error: { code: 'TOO_MANY_STREAMS', details: { setting } } });
    expect((body as { error: { message: string } }).error.message).toContain(setting);
  }

  it('attack 5: the fourth stream of one viewer key gets 429 TOO_MANY_STREAMS; other keys stream; a close frees a slot', async () => {
    const mine = [await open(API_KEYS.viewer), await open(API_KEYS.viewer), await open(API_KEYS.viewer)];
    for (const stream of mine) expect(stream.response.status).toBe(200);
    await expectTooManyStreams(API_KEYS.viewer, 'SSE_MAX_PER_KEY');

    // Another key is not held back by this one's streams.
    expect((await open(SECOND_VIEWER)).response.status).toBe(200);

    mine[0].close();
    await waitFor(async () => (await scrapeMetric(suite.baseUrl, 'runnerhub_event_streams_open')) === PER_KEY, {
      description: 'the closed stream to give its slot back',
    });
    expect((await open(API_KEYS.viewer)).response.status).toBe(200);

    // And the service holds SSE_MAX in all, whichever keys ask: 3 + 1 open, one more fits.
    expect((await open(SECOND_VIEWER)).response.status).toBe(200);
    await expectTooManyStreams(SECOND_VIEWER, 'SSE_MAX');
    expect(await scrapeMetric(suite.baseUrl, 'runnerhub_event_streams_refused_total{cap="per-key"}')).toBe(1);
  });

  it('attack 5: a client that never reads is dropped once SSE_BUFFER_BYTES wait for it; a reading one is not', async () => {
    const emitter = suite.app.get(EventEmitter2);
    const baseline = emitter.listenersAny().length;
    const reading = await open(SECOND_VIEWER);
    const slow = await stalledStream(API_KEYS.viewer);
    expect(emitter.listenersAny()).toHaveLength(baseline + 2);

    // Events nobody else listens to, 16 KiB each, until the stalled stream is gone (a bound, if it never goes).
    const payload = { blob: 'e'.repeat(16 * 1024) };
    let sent = 0;
    while (emitter.listenersAny().length > baseline + 1 && sent < 5_000) {
      emitter.emit('container:load-test', payload);
      sent += 1;
      await new Promise((resolve) => setImmediate(resolve));
    }
    expect(emitter.listenersAny()).toHaveLength(baseline + 1);
    expect(await scrapeMetric(suite.baseUrl, 'runnerhub_event_streams_slow_clients_dropped_total')).toBe(1);
    expect(await scrapeMetric(suite.baseUrl, 'runnerhub_event_streams_open')).toBe(1);

    // The stalled client, reading again, finds its stream ended: what waited in the service for it (more than
    // SSE_BUFFER_BYTES) went with the connection, only what the sockets held arrives.
    slow.socket.resume();
    await waitFor(() => slow.closed, { description: 'the dropped stream to end on the client' });
    const message = (id: number) => `id: ${id}\nevent: container:load-test\ndata: ${JSON.stringify(payload)}\n\n`;
    const everything = Array.from({ length: sent }, (_, i) => message(i + 1).length).reduce((a, b) => a + b, 0);
    expect(slow.bodyReceived()).toBeLessThan(everything);

    // The reading client kept its stream and got every event.
    expect(reading.isEnded).toBe(false);
    await waitFor(() => reading.messages.filter((m) => m.type === 'container:load-test').length === sent, {
      description: `all ${sent} events on the reading stream`,
    });
  });

  it('attack 5: reads past RATE_LIMIT_READS_PER_MINUTE get 429 with Retry-After, per key; health stays open', async () => {
    for (let i = 0; i < READS_PER_MINUTE; i++) {
      expect((await call(suite.baseUrl, 'GET', '/api/containers', { key: READER })).status).toBe(200);
    }
    const limited = await call(suite.baseUrl, 'GET', '/api/containers', { key: READER });
    expect(limited.status).toBe(429);
    expect(errorOf(limited).code).toBe('RATE_LIMITED');
    expect(errorOf(limited).message).toMatch(/RATE_LIMIT_READS_PER_MINUTE is 30/);
    const retryAfter = Number(limited.headers.get('retry-after'));
    expect(retryAfter).toBeGreaterThan(0);
    expect(retryAfter).toBeLessThanOrEqual(60);

    expect((await call(suite.baseUrl, 'GET', '/api/containers', { key: SECOND_VIEWER })).status).toBe(200);
    for (let i = 0; i < READS_PER_MINUTE + 5; i++) expect((await fetch(`${suite.baseUrl}/health`)).status).toBe(200);
  });

  it('attack 5: logs?tail=10000 of a container printing a lot answer at most LOGS_MAX_BYTES, truncated: true', async () => {
    const created = await call(suite.baseUrl, 'POST', '/api/containers', {
      key: API_KEYS.operator,
      body: {
        jobId: `job-${suite.run}`,
        config: {
          image: TEST_IMAGE,
          // 3,000 lines of about 500 bytes: some 1.5 MB of output, 23 times the cap.
          command: [
            'sh',
            '-c',
            'pad=$(printf "%0480d" 0); i=0; while [ $i -lt 3000 ]; do echo "line $i $pad"; i=$((i+1)); done',
          ],
          labels: suite.labels,
        },
      },
    });
    expect(created.status).toBe(201);
    const { id, engineId } = (created.body as { data: { id: string; engineId: string } }).data;
    await waitFor(() => inspectContainer(engineId)?.State.Status === 'exited', {
      timeoutMs: 20_000,
      intervalMs: 200,
      description: 'the container to print its lines and exit',
    });

    const logs = await call(suite.baseUrl, 'GET', `/api/containers/${id}/logs?tail=10000`, { key: API_KEYS.operator });
    expect(logs.status).toBe(200);
    const { lines, truncated } = (logs.body as { data: { lines: Array<{ text: string }>; truncated: boolean } }).data;
    expect(truncated).toBe(true);
    const bytes = lines.reduce((sum, line) => sum + Buffer.byteLength(line.text) + 1, 0);
    expect(bytes).toBeLessThanOrEqual(LOGS_MAX_BYTES);
    expect(bytes).toBeGreaterThan(LOGS_MAX_BYTES - 1_000);
    // The newest lines, in order, with nothing missing between them.
    const numbers = lines.map((line) => Number(/^line (\d+) /.exec(line.text)?.[1]));
    expect(numbers.at(-1)).toBe(2_999);
    expect(numbers).toEqual(numbers.map((_, i) => 2_999 - (numbers.length - 1) + i));

    const few = await call(suite.baseUrl, 'GET', `/api/containers/${id}/logs?tail=10`, { key: API_KEYS.operator });
    const small = (few.body as { data: { lines: unknown[]; truncated: boolean } }).data;
    expect(small).toMatchObject({ truncated: false });
    expect(small.lines).toHaveLength(10);
  });

  /**
   * A stream opened on a raw socket that reads the response headers and then stops reading, as a client that
   * subscribes and never consumes would: what the service sends piles up in the socket buffers, then in its own.
   */
  async function stalledStream(
    key: string,
  ): Promise<{ socket: Socket; bodyReceived(): number; readonly closed: boolean }> {
    const { port } = new URL(suite.baseUrl);
    const socket = connect(Number(port), '127.0.0.1');
    sockets.push(socket);
    let received = 0;
    let head = '';
    let closed = false;
    socket.on('close', () => (closed = true));
    socket.on('error', () => undefined);
    const status = await new Promise<string>((resolve, reject) => {
      socket.on('data', (chunk: Buffer) => {
        received += chunk.length;
        head += chunk.toString('latin1');
        if (head.includes('\r\n\r\n')) resolve(head.slice(0, head.indexOf('\r\n')));
      });
      socket.once('error', reject);
      socket.write(
        `GET /api/events?type=container:load-test HTTP/1.1\r\nHost: 127.0.0.1\r\n` +
          `Authorization: Bearer ${key}\r\nAccept: text/event-stream\r\n\r\n`,
      );
    });
    expect(status).toBe('HTTP/1.1 200 OK');
    socket.pause();
    const headBytes = head.indexOf('\r\n\r\n') + 4;
    return {
      socket,
      // Less the opening comment, which is not an event.
      bodyReceived: () => received - headBytes - ': stream open\n\n'.length,
      get closed() {
        return closed;
      },
    };
  }
});
