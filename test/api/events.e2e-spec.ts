import { EventEmitter2 } from '@nestjs/event-emitter';
import { Schemas } from '../client/client';
import { API_KEYS, ApiSuite, expectErrorEnvelope, startApiSuite } from '../support/api-suite';
import { testDatabaseKinds } from '../support/databases';
import { SseClient } from '../support/sse-client';
import { TEST_IMAGE } from '../support/test-env';
import { waitFor } from '../support/wait-for';

type Container = Schemas['ContainerDto'];
type Transition = { containerId: string; state: string; previousState: string | null; exitCode: number | null };

describe.each(testDatabaseKinds())('event stream on %s', (kind) => {
  let suite: ApiSuite;
  let emitter: EventEmitter2;
  /** Any-listeners on the emitter with no client connected. */
  let baseline: number;
  const streams: SseClient[] = [];

  beforeAll(async () => {
    suite = await startApiSuite(kind, 'events');
    emitter = suite.app.get(EventEmitter2);
    baseline = emitter.listenersAny().length;
  });

  // Every test hangs up its streams, and none may leave a listener behind.
  afterEach(async () => {
    for (const stream of streams.splice(0)) stream.close();
    await waitFor(() => emitter.listenersAny().length === baseline, {
      description: `the emitter back to ${baseline} any-listeners`,
    });
  });

  afterAll(async () => {
    await suite?.close();
  });

  async function open(query: string, key: string = API_KEYS.viewer): Promise<SseClient> {
    const stream = await SseClient.open(`${suite.baseUrl}/api/events${query}`, key);
    streams.push(stream);
    return stream;
  }

  async function create(start = true): Promise<Container> {
    const { data, response } = await suite.operator.POST('/api/containers', {
      body: {
        jobId: `job-${suite.run}`,
        config: { image: TEST_IMAGE, command: ['sleep', '3600'], labels: suite.labels },
        start,
      },
    });
    expect(response.status).toBe(201);
    return data!.data;
  }

  it('streams container:stopped with its payload to a filtered subscriber, and heartbeats', async () => {
    const container = await create();
    const stream = await open('?type=container:stopped&heartbeatMs=1000');
    expect(stream.response.status).toBe(200);
    expect(stream.response.headers.get('content-type')).toMatch(/^text\/event-stream/);

    await suite.operator.POST('/api/containers/{id}/stop', {
      params: { path: { id: container.id } },
      body: { timeout: 5 },
    });
    const stopped = await stream.next(
      (m) => m.type === 'container:stopped' && (m.data as Transition).containerId === container.id,
      'the container:stopped event',
    );
    expect(stopped.data).toEqual({
      containerId: container.id,
      engineId: container.engineId,
      name: container.name,
      previousState: 'stopping',
      state: 'stopped',
      reason: 'stopped (exit 143)',
      actor: expect.any(String),
      exitCode: 143,
      runnerId: null,
      jobId: `job-${suite.run}`,
      repository: null,
      at: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
    });
    const heartbeat = await stream.next((m) => m.type === 'heartbeat', 'a heartbeat', 5_000);
    expect(heartbeat.data).toEqual({ at: expect.stringMatching(/^\d{4}-\d\d-\d\dT/) });
    // The filter held: no container:stopping, no other event name.
    expect(new Set(stream.messages.map((m) => m.type))).toEqual(new Set(['container:stopped', 'heartbeat']));
  });

  it('follows one container through a family filter, and leaves out the others', async () => {
    const watched = await create(false);
    const other = await create(false);
    const stream = await open(`?type=container:*&containerId=${watched.id}`);
    await suite.operator.POST('/api/containers/{id}/start', { params: { path: { id: other.id } } });
    await suite.operator.POST('/api/containers/{id}/start', { params: { path: { id: watched.id } } });
    await suite.admin.DELETE('/api/containers/{id}', { params: { path: { id: watched.id }, query: { force: true } } });
    await stream.next((m) => m.type === 'container:removed', 'the container:removed event');
    expect(stream.messages.map((m) => [m.type, (m.data as Transition).state])).toEqual([
      ['container:starting', 'starting'],
      ['container:started', 'running'],
      ['container:stopping', 'stopping'],
      ['container:stopped', 'stopped'],
      ['container:removing', 'removing'],
      ['container:removed', 'removed'],
    ]);
    expect(stream.messages.every((m) => (m.data as Transition).containerId === watched.id)).toBe(true);
  });

  it('takes several names in one filter, comma-separated', async () => {
    const container = await create();
    const stream = await open('?type=container:stopped,container:removed');
    await suite.operator.POST('/api/containers/{id}/stop', { params: { path: { id: container.id } }, body: {} });
    await suite.operator.DELETE('/api/containers/{id}', { params: { path: { id: container.id } } });
    await stream.next(
      (m) => m.type === 'container:removed' && (m.data as Transition).containerId === container.id,
      'the container:removed event',
    );
    // Only this container's: another labelled container on the same engine may stop meanwhile, and is reported too.
    const mine = stream.messages.filter((m) => (m.data as Transition).containerId === container.id);
    expect(mine.map((m) => m.type)).toEqual(['container:stopped', 'container:removed']);
    expect(stream.messages.every((m) => ['container:stopped', 'container:removed'].includes(m.type))).toBe(true);
  });

  it('removes its listener when the client hangs up, however many come and go', async () => {
    const before = emitter.listenersAny().length;
    expect(before).toBe(baseline);
    const clients = [await open(''), await open('?type=container:*'), await open('?heartbeatMs=1000')];
    expect(emitter.listenersAny()).toHaveLength(before + 3);
    for (const client of clients) client.close();
    await waitFor(() => emitter.listenersAny().length === before, {
      description: `the emitter back to ${before} any-listeners`,
    });
    // And the service still streams to the next client.
    const container = await create(false);
    const stream = await open(`?containerId=${container.id}`);
    await suite.operator.POST('/api/containers/{id}/start', { params: { path: { id: container.id } } });
    await stream.next((m) => m.type === 'container:started', 'the container:started event');
    stream.close();
    await waitFor(() => emitter.listenersAny().length === before, { description: 'the listener gone again' });
  });

  it('refuses bad filters with 400 in the error envelope, before any stream starts', async () => {
    for (const query of [
      '?type=bogus',
      '?type=container:stopped,nope',
      '?containerId=abc',
      '?heartbeatMs=10',
      '?x=1',
    ]) {
      const response = await fetch(`${suite.baseUrl}/api/events${query}`, {
        headers: { authorization: `Bearer ${API_KEYS.viewer}` },
      });
      expect({ query, status: response.status }).toEqual({ query, status: 400 });
      expect(response.headers.get('content-type')).toMatch(/^application\/json/);
      const { details } = expectErrorEnvelope(await response.json(), 'VALIDATION_FAILED');
      expect(details.problems).toEqual(expect.any(Array));
    }
  });
});
