import { ContainerEvent } from '@app/common';
import { randomBytes } from 'node:crypto';
import { Client } from 'pg';
import { API_KEYS } from '../support/api-suite';
import { createTestDatabase, TestDatabase } from '../support/databases';
import { removeLabelled } from '../support/engine-cli';
import { ServiceProcess } from '../support/service-process';
import { SseClient, SseMessage } from '../support/sse-client';
import { TEST_DATABASE_URL, TEST_IMAGE, TEST_LABEL } from '../support/test-env';
import { waitFor } from '../support/wait-for';

type Transition = { containerId: string; state: string };
/** A message as a client got it, and when (this process's clock, the same for both clients). */
type Arrival = { message: SseMessage; atMs: number; wallMs: number };

const RUN_LABEL = 'app.runnerhub-test.run';
const E = ContainerEvent;
const LIFECYCLE = [E.Created, E.Starting, E.Started, E.Stopping, E.Stopped, E.Removing, E.Removed];
const LISTENER = 'runnerhub-replica-events';

const onPostgres = TEST_DATABASE_URL ? describe : describe.skip;

onPostgres(
  `events across two replicas on one PostgreSQL${TEST_DATABASE_URL ? '' : ' (skipped: needs TEST_DATABASE_URL)'}`,
  () => {
    let database: TestDatabase;
    let a: ServiceProcess;
    let b: ServiceProcess;
    const run = `replica-events-${randomBytes(3).toString('hex')}`;
    const labels = { [TEST_LABEL]: 'api', [RUN_LABEL]: run };
    const streams: SseClient[] = [];

    beforeAll(async () => {
      database = await createTestDatabase('postgres');
      const env = {
        ...database.env,
        RUNNERHUB_API_KEYS: `${API_KEYS.admin}:admin,${API_KEYS.operator}:operator,${API_KEYS.viewer}:viewer`,
        RUNNER_IMAGE_PREPULL: 'false',
        RATE_LIMIT_MUTATIONS_PER_MINUTE: '100000',
      };
      // One after the other: the first runs the migrations on the fresh database.
      a = await ServiceProcess.start(env);
      b = await ServiceProcess.start(env);
    }, 120_000);

    afterEach(() => {
      for (const stream of streams.splice(0)) stream.close();
    });

    afterAll(async () => {
      await Promise.all([a?.stop(), b?.stop()]);
      removeLabelled(`${RUN_LABEL}=${run}`);
      await database?.drop();
    });

    /** Opens a stream of container events and notes when each message arrives. */
    async function watch(service: ServiceProcess): Promise<{ client: SseClient; arrivals: Arrival[] }> {
      const client = await SseClient.open(`${service.baseUrl}/api/events?type=container:*`, API_KEYS.viewer);
      expect(client.response.status).toBe(200);
      streams.push(client);
      const arrivals: Arrival[] = [];
      const push = client.messages.push.bind(client.messages);
      client.messages.push = (...messages: SseMessage[]) => {
        for (const message of messages) arrivals.push({ message, atMs: performance.now(), wallMs: Date.now() });
        return push(...messages);
      };
      return { client, arrivals };
    }

    async function api<T>(service: ServiceProcess, method: string, path: string, body?: unknown): Promise<T> {
      const response = await fetch(`${service.baseUrl}${path}`, {
        method,
        headers: { authorization: `Bearer ${API_KEYS.admin}`, 'content-type': 'application/json' },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      if (!response.ok) throw new Error(`${method} ${path}: ${response.status} ${await response.text()}`);
      return response.status === 204 ? (undefined as T) : ((await response.json()) as { data: T }).data;
    }

    const createContainer = (service: ServiceProcess, start: boolean) =>
      api<{ id: string }>(service, 'POST', '/api/containers', {
        jobId: `job-${run}`,
        config: { image: TEST_IMAGE, command: ['sleep', '3600'], labels },
        start,
      });
    const removeContainer = (service: ServiceProcess, id: string) =>
      api<void>(service, 'DELETE', `/api/containers/${id}?force=true`);

    const of = (arrivals: Arrival[], id: string) =>
      arrivals.filter(({ message }) => (message.data as Transition).containerId === id);
    const arrived = (client: SseClient, id: string, type: string, description: string) =>
      client.next((m) => m.type === type && (m.data as Transition).containerId === id, description, 15_000);

    it("gives a client of either replica each of the other's container events exactly once", async () => {
      const onA = await watch(a);
      const onB = await watch(b);

      const x = await createContainer(a, true);
      await removeContainer(a, x.id);
      await arrived(onB.client, x.id, 'container:removed', "B's client to get container:removed made on A");

      // Barriers, so that a duplicate would have arrived by the time we count: notifications reach every listener in
      // the order they were committed. Y is made on B (A's listener gets it after anything A published before), and
      // removed on A (B's listener gets that after anything B published before).
      const y = await createContainer(b, false);
      await arrived(onA.client, y.id, 'container:created', "A's client to get container:created made on B");
      await removeContainer(a, y.id);
      await arrived(onB.client, y.id, 'container:removed', "B's client to get container:removed made on A");

      expect(of(onA.arrivals, x.id).map(({ message }) => message.type)).toEqual(LIFECYCLE);
      expect(of(onB.arrivals, x.id).map(({ message }) => message.type)).toEqual(LIFECYCLE);
      // Identical data on both replicas: what travelled is the payload as published, nothing added.
      expect(of(onB.arrivals, x.id).map(({ message }) => message.data)).toEqual(
        of(onA.arrivals, x.id).map(({ message }) => message.data),
      );
      expect(of(onA.arrivals, y.id).filter(({ message }) => message.type === 'container:created')).toHaveLength(1);

      const latencies = of(onB.arrivals, x.id).map(({ atMs }, i) => atMs - of(onA.arrivals, x.id)[i].atMs);
      const sorted = [...latencies].sort((p, q) => p - q);
      const p50 = sorted[Math.floor(sorted.length / 2)];
      // And from the transition's own time (written on A, same clock here) to B's client: the whole way.
      const sinceWritten = of(onB.arrivals, x.id)
        .map(({ message, wallMs }) => wallMs - Date.parse((message.data as { at: string }).at))
        .sort((p, q) => p - q);
      console.info(
        `replica A -> B event delivery (ms, B's client minus A's client): p50 ${p50.toFixed(1)}, ` +
          `max ${sorted[sorted.length - 1].toFixed(1)}, all ${latencies.map((ms) => ms.toFixed(1)).join(' ')}; ` +
          `transition written on A -> B's client: p50 ${sinceWritten[Math.floor(sinceWritten.length / 2)]}, ` +
          `max ${sinceWritten[sinceWritten.length - 1]}`,
      );
      expect(p50).toBeLessThan(1_000);
    });

    it('listens again after PostgreSQL drops the listener connections, and events flow again', async () => {
      const admin = new Client({ connectionString: (database.settings as { url: string }).url });
      await admin.connect();
      const listeners = async () =>
        (
          await admin.query<{ pid: number }>(
            'SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND application_name = $1',
            [LISTENER],
          )
        ).rows;
      try {
        expect(await listeners()).toHaveLength(2);
        const before = (await listeners()).map(({ pid }) => pid);
        await admin.query(
          'SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND application_name = $1',
          [LISTENER],
        );
        await waitFor(
          async () => {
            const now = (await listeners()).map(({ pid }) => pid);
            return now.length === 2 && now.every((pid) => !before.includes(pid));
          },
          { timeoutMs: 15_000, description: 'both replicas listening again on new connections' },
        );

        const onB = await watch(b);
        const z = await createContainer(a, false);
        await arrived(onB.client, z.id, 'container:created', "B's client to get container:created made on A");
        await removeContainer(a, z.id);
        await arrived(onB.client, z.id, 'container:removed', "B's client to get container:removed made on A");
        expect(a.output.join('')).toMatch(/replica event listener has no PostgreSQL connection/);
      } finally {
        await admin.end();
      }
    });
  },
);
