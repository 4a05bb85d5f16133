import { AppConfigModule, loadAppConfig } from '@app/common';
import { Test, TestingModule } from '@nestjs/testing';
import { randomBytes } from 'node:crypto';
import { symlinkSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { Subscription } from 'rxjs';
import { removeSuiteContainers, testLabels } from '../../../test/support/docker-cleanup';
import { SecondEngine } from '../../../test/support/docker-second-engine';
import { waitFor } from '../../../test/support/wait-for';
import { TEST_IMAGE, TEST_LABEL } from '../../../test/support/test-env';
import { DockerEngine, DockerModule, DockerModuleOptions, EngineEvent, EngineEventStream, EngineStreamStatus } from '.';
import { eventKey } from './event-resume.cursor';

async function engineModule(dockerHost: string | undefined, options: DockerModuleOptions = {}): Promise<TestingModule> {
  const moduleRef = await Test.createTestingModule({
    imports: [AppConfigModule.forRoot(loadAppConfig({ DOCKER_HOST: dockerHost })), DockerModule.forRoot(options)],
  }).compile();
  return moduleRef.init();
}

/** Records everything a stream emits, with the local time of each status change. */
function record(stream: EngineEventStream) {
  const events: EngineEvent[] = [];
  const statuses: Array<{ status: EngineStreamStatus; at: number }> = [];
  const subscriptions: Subscription[] = [
    stream.events$.subscribe((event) => events.push(event)),
    stream.status$.subscribe((status) => statuses.push({ status, at: Date.now() })),
  ];
  const of = (id: string) => events.filter((e) => e.id === id).map((e) => e.action);
  return { events, statuses, of, stop: () => subscriptions.forEach((s) => s.unsubscribe()) };
}

/** Creates and starts a container that exits at once (create, start, die) and returns its id. */
async function shortLived(engine: DockerEngine, suite: string): Promise<string> {
  const id = await engine.createContainer({
    name: `rh-${suite}-${randomBytes(4).toString('hex')}`,
    image: TEST_IMAGE,
    cmd: ['true'],
    labels: testLabels(suite),
    hostConfig: { NetworkMode: 'none' },
  });
  await engine.start(id);
  return id;
}

function expectNoDuplicates(events: EngineEvent[]): void {
  const keys = events.map(eventKey);
  expect(keys.filter((key, i) => keys.indexOf(key) !== i)).toEqual([]);
}

describe('EngineEventStream against the real engine', () => {
  const suite = 'engine-events';
  let moduleRef: TestingModule;
  let engine: DockerEngine;
  let stream: EngineEventStream;

  beforeAll(async () => {
    moduleRef = await engineModule(process.env.DOCKER_HOST, { events: { labels: testLabels(suite) } });
    engine = moduleRef.get(DockerEngine);
    stream = moduleRef.get(EngineEventStream);
  });

  afterEach(async () => {
    await removeSuiteContainers(engine, suite);
    await removeSuiteContainers(engine, `${suite}-other`);
  });

  afterAll(async () => {
    await moduleRef?.close();
  });

  it('delivers the events of a container the test starts, and only of containers with its label', async () => {
    const seen = record(stream);
    try {
      stream.start();
      await waitFor(() => stream.status === 'connected', { description: 'the stream to connect' });
      const other = await shortLived(engine, `${suite}-other`);
      const id = await shortLived(engine, suite);
      await waitFor(() => seen.of(id).includes('die'), { timeoutMs: 10_000, description: `the die event of ${id}` });

      expect(seen.of(id)).toEqual(['create', 'start', 'die']);
      const start = seen.events.find((e) => e.id === id && e.action === 'start')!;
      expect(start).toMatchObject({ type: 'container', attributes: { [TEST_LABEL]: suite, image: TEST_IMAGE } });
      expect(BigInt(start.timeNano) / 1_000_000_000n).toBe(BigInt(start.time));
      expect(seen.of(other)).toEqual([]);
    } finally {
      seen.stop();
      stream.stop();
    }
  });

  it('after stop() and start() resumes where it was, replaying the overlap without duplicates', async () => {
    const seen = record(stream);
    try {
      stream.start();
      await waitFor(() => stream.status === 'connected', { description: 'the stream to connect' });
      const first = await shortLived(engine, suite);
      await waitFor(() => seen.of(first).includes('die'), {
        timeoutMs: 10_000,
        description: 'the first container to die',
      });

      stream.stop();
      // Happens while nobody listens: must arrive after start(), from the resume position.
      const missed = await shortLived(engine, suite);
      await waitFor(async () => !(await engine.inspect(missed)).state.running, {
        description: 'the missed one to exit',
      });
      stream.start();
      await waitFor(() => seen.of(missed).includes('die'), { timeoutMs: 10_000, description: 'the missed events' });

      // The engine replayed the last second before the resume position, which holds events already delivered.
      expect(seen.of(first)).toEqual(['create', 'start', 'die']);
      expect(seen.of(missed)).toEqual(['create', 'start', 'die']);
      expectNoDuplicates(seen.events);
    } finally {
      seen.stop();
      stream.stop();
    }
  });
});

describe('EngineEventStream across a restart of the engine', () => {
  const suite = 'engine-events-restart';
  let second: SecondEngine | undefined;
  let direct: TestingModule | undefined;
  let gated: TestingModule | undefined;
  let gate: string;

  beforeAll(async () => {
    second = await SecondEngine.create();
    // The stream reaches the engine through a symlink the test can take away: that holds the stream off after the
    // restart, so that something certainly happens between the engine coming back and the stream reconnecting.
    gate = join(second.dir, 'gate.sock');
    symlinkSync(second.socketPath, gate);
    direct = await engineModule(second.dockerHost);
    gated = await engineModule(`unix://${gate}`, {
      events: { labels: testLabels(suite), initialBackoffMs: 50, maxBackoffMs: 400 },
    });
  }, 60_000);

  afterAll(async () => {
    await gated?.close();
    await direct?.close();
    await second?.cleanup();
  }, 60_000);

  it('reconnects by itself and delivers, once, the events that happened while it was away', async () => {
    const engine = direct!.get(DockerEngine);
    const stream = gated!.get(EngineEventStream);
    const seen = record(stream);
    try {
      stream.start();
      await waitFor(() => stream.status === 'connected', { description: 'the stream to connect' });
      const before = await shortLived(engine, suite);
      await waitFor(() => seen.of(before).includes('die'), {
        timeoutMs: 10_000,
        description: 'the first container to die',
      });

      unlinkSync(gate);
      await second!.stop();
      await waitFor(() => stream.status === 'disconnected', { description: 'the stream to notice the engine stopped' });
      await second!.start();
      const during = await shortLived(engine, suite);
      await waitFor(async () => !(await engine.inspect(during)).state.running, { description: 'it to exit' });
      expect(stream.status).toBe('disconnected');
      expect(seen.of(during)).toEqual([]);

      symlinkSync(second!.socketPath, gate);
      await waitFor(() => seen.of(during).includes('die'), {
        timeoutMs: 15_000,
        description: 'the events from the gap',
      });

      expect(seen.of(before)).toEqual(['create', 'start', 'die']);
      expect(seen.of(during)).toEqual(['create', 'start', 'die']);
      expectNoDuplicates(seen.events);
      const connects = seen.statuses.filter((s) => s.status === 'connected');
      expect(connects).toHaveLength(2);
      // Every event of the gap is older than the reconnection: it came from the resume position, not live.
      const reconnectedAtMs = BigInt(connects[1].at);
      for (const event of seen.events.filter((e) => e.id === during)) {
        expect(BigInt(event.timeNano) / 1_000_000n).toBeLessThan(reconnectedAtMs);
      }
    } finally {
      seen.stop();
      stream.stop();
      await removeSuiteContainers(engine, suite).catch(() => undefined);
    }
  }, 60_000);
});
