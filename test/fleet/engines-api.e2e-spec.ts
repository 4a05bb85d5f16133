import { EngineChangePayload } from '@app/common';
import { EventEmitter2 } from '@nestjs/event-emitter';
import { join } from 'node:path';
import { API_KEYS, ApiSuite, expectErrorEnvelope, startApiSuite } from '../support/api-suite';
import { testDatabaseKinds } from '../support/databases';
import { SecondEngine } from '../support/docker-second-engine';
import { waitFor } from '../support/wait-for';

const PROBE_INTERVAL_MS = 200;
const UNREACHABLE_AFTER_MS = 1_000;

/** An engine as GET /api/engines shows it (the generated client learns the shape once docs/openapi.json is rebuilt). */
interface Engine {
  name: string;
  endpoint: string;
  tlsCertPath: string | null;
  source: 'config' | 'api';
  labels: string[];
  network: string | null;
  state: 'active' | 'draining' | 'drained' | 'unreachable';
  stateReason: string | null;
  stateChangedAt: string;
  lastSeenAt: string | null;
  capacity: {
    given: { memoryMb: number | null; cpus: number | null; maxContainers: number | null };
    fromInfo: { memoryMb: number | null; cpus: number | null };
    effective: { memoryMb: number | null; cpus: number | null; maxContainers: number | null };
  };
  load: { containers: number; memoryMb: number; cpus: number };
  createdAt: string;
}

interface Answer<T> {
  status: number;
  data: T;
  body: unknown;
}

describe.each(testDatabaseKinds())('engines API on %s', (kind) => {
  let suite: ApiSuite;
  let second: SecondEngine;
  let name: string;
  const events: Array<{ name: string; payload: EngineChangePayload }> = [];

  beforeAll(async () => {
    second = await SecondEngine.create({ loadTestImage: false });
    suite = await startApiSuite(kind, 'engines', {
      ENGINE_PROBE_INTERVAL_MS: String(PROBE_INTERVAL_MS),
      ENGINE_UNREACHABLE_AFTER_MS: String(UNREACHABLE_AFTER_MS),
    });
    // Engine names are lower case, digits and dashes.
    name = `second-${suite.run}`.toLowerCase().replace(/[^a-z0-9-]/g, '-');
    suite.app.get(EventEmitter2).onAny((event: string | string[], payload: unknown) => {
      const eventName = Array.isArray(event) ? event.join(':') : event;
      if (eventName.startsWith('engine:')) events.push({ name: eventName, payload: payload as EngineChangePayload });
    });
  }, 120_000);

  afterAll(async () => {
    await suite?.close();
    await second?.cleanup();
  });

  /** A call with the key of `role`; the body of the answer, and its `data` when it succeeded. */
  async function call<T>(
    role: keyof typeof API_KEYS,
    method: string,
    path: string,
    body?: unknown,
  ): Promise<Answer<T>> {
    const response = await fetch(`${suite.baseUrl}${path}`, {
      method,
      headers: { authorization: `Bearer ${API_KEYS[role]}`, 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const json = (await response.json()) as { data: T };
    return { status: response.status, data: json.data, body: json };
  }

  const list = async () => (await call<Engine[]>('viewer', 'GET', '/api/engines')).data;
  const get = async (engine: string) => (await call<Engine>('viewer', 'GET', `/api/engines/${engine}`)).data;
  const eventsOf = (engine: string) => events.filter((event) => event.payload.engine === engine);

  it('lists the configured engine `default`, active, with the capacity its `info` reports once probed, shown but not enforced', async () => {
    const engines = await waitFor(
      async () => {
        const all = await list();
        return all[0]?.capacity.fromInfo.memoryMb ? all : undefined;
      },
      { timeoutMs: 10_000, description: 'the default engine to be probed' },
    );
    expect(engines).toEqual([
      expect.objectContaining({
        name: 'default',
        endpoint: 'unix:///var/run/docker.sock',
        source: 'config',
        labels: [],
        state: 'active',
        lastSeenAt: expect.any(String),
        capacity: {
          given: { memoryMb: null, cpus: null, maxContainers: null },
          fromInfo: { memoryMb: expect.any(Number), cpus: expect.any(Number) },
          // What info says is shown, not enforced: nothing was given, so nothing limits placement here.
          effective: { memoryMb: null, cpus: null, maxContainers: null },
        },
        load: { containers: 0, memoryMb: 0, cpus: 0 },
      }),
    ]);
    expect(engines[0].capacity.fromInfo.cpus).toBeGreaterThan(0);
  });

  it('lets only admins add engines: a viewer or an operator gets 403 and nothing is written', async () => {
    for (const role of ['viewer', 'operator'] as const) {
      const refused = await call(role, 'POST', '/api/engines', { name, host: second.dockerHost });
      expect(refused.status).toBe(403);
      expectErrorEnvelope(refused.body, 'FORBIDDEN');
    }
    expect((await list()).map((engine) => engine.name)).toEqual(['default']);
  });

  it('refuses an engine that does not answer (422 ENGINE_UNAVAILABLE, saying what was tried) and writes nothing', async () => {
    const host = `unix://${join(second.dir, 'nobody-listens.sock')}`;
    const refused = await call('admin', 'POST', '/api/engines', { name: 'silent', host });
    expect(refused.status).toBe(422);
    const error = expectErrorEnvelope(refused.body, 'ENGINE_UNAVAILABLE');
    expect(error.message).toContain('force');
    expect(error.details).toMatchObject({ engine: 'silent', endpoint: host, tried: `ping ${host}` });
    expect((await call('viewer', 'GET', '/api/engines/silent')).status).toBe(404);
    expect((await list()).map((engine) => engine.name)).toEqual(['default']);
  });

  it("refuses a definition that breaks DOCKER_ENGINES' rules with 400, naming each field", async () => {
    const refused = await call('admin', 'POST', '/api/engines', {
      name: 'Not_A_Name',
      host: 'ftp://example.com',
      labels: ['gpu', 'no spaces'],
      memoryMb: 1,
    });
    expect(refused.status).toBe(400);
    const error = expectErrorEnvelope(refused.body, 'VALIDATION_FAILED');
    expect((error.details.problems as Array<{ field: string }>).map((problem) => problem.field)).toEqual([
      'name',
      'host',
      'labels',
      'memoryMb',
    ]);
    const unknownField = await call('admin', 'POST', '/api/engines', { name: 'x', host: second.dockerHost, ram: 1 });
    expect(unknownField.status).toBe(400);
  });

  it("keeps a configured engine's definition the configuration's: PATCH of its labels is 409", async () => {
    const refused = await call('admin', 'PATCH', '/api/engines/default', { labels: ['gpu'] });
    expect(refused.status).toBe(409);
    expect(expectErrorEnvelope(refused.body, 'CONFLICT').message).toContain('DOCKER_ENGINES');
  });

  it('adds the second engine (201), connects it and shows the capacity its `info` reports after a probe', async () => {
    const added = await call<Engine>('admin', 'POST', '/api/engines', {
      name,
      host: second.dockerHost,
      labels: ['GPU'],
      maxContainers: 5,
    });
    expect(added.status).toBe(201);
    expect(added.data).toMatchObject({
      name,
      endpoint: second.dockerHost,
      source: 'api',
      labels: ['gpu'],
      state: 'active',
      capacity: { given: { memoryMb: null, cpus: null, maxContainers: 5 } },
      load: { containers: 0, memoryMb: 0, cpus: 0 },
    });

    const probed = await waitFor(
      async () => {
        const engine = await get(name);
        return engine.capacity.fromInfo.memoryMb ? engine : undefined;
      },
      { timeoutMs: 5_000, description: 'the second engine to be probed' },
    );
    expect(probed.capacity.fromInfo.cpus).toBeGreaterThan(0);
    expect(probed.capacity.effective).toEqual({ memoryMb: null, cpus: null, maxContainers: 5 });
    expect((await list()).map((engine) => engine.name)).toEqual(['default', name]);

    const again = await call('admin', 'POST', '/api/engines', { name, host: second.dockerHost });
    expect(again.status).toBe(409);
    expectErrorEnvelope(again.body, 'CONFLICT');
  });

  it('drains it: with nothing on it, it is soon drained', async () => {
    const drained = await call<Engine>('admin', 'POST', `/api/engines/${name}/drain`);
    expect(drained.status).toBe(200);
    expect(['draining', 'drained']).toContain(drained.data.state);
    const engine = await waitFor(
      async () => {
        const now = await get(name);
        return now.state === 'drained' ? now : undefined;
      },
      { timeoutMs: 5_000, description: `${name} to be drained` },
    );
    expect(engine.stateReason).toContain('no container or job');
    expect((await call('operator', 'POST', `/api/engines/${name}/drain`)).status).toBe(403);
  });

  it('undrains it with PATCH state: active, and changes its labels and capacity', async () => {
    const undrained = await call<Engine>('admin', 'PATCH', `/api/engines/${name}`, { state: 'active' });
    expect(undrained.status).toBe(200);
    expect(undrained.data).toMatchObject({ state: 'active', stateReason: expect.stringContaining('undrained by') });

    const changed = await call<Engine>('admin', 'PATCH', `/api/engines/${name}`, {
      labels: ['gpu', 'arm64'],
      cpus: 2.5,
      maxContainers: null,
    });
    expect(changed.status).toBe(200);
    expect(changed.data).toMatchObject({
      labels: ['gpu', 'arm64'],
      state: 'active',
      capacity: { given: { cpus: 2.5, maxContainers: null } },
    });

    const drainState = await call('admin', 'PATCH', `/api/engines/${name}`, { state: 'draining' });
    expect(drainState.status).toBe(400);
    expect((await call('admin', 'PATCH', '/api/engines/no-such-engine', { state: 'active' })).status).toBe(404);
  });

  it('calls it unreachable within ENGINE_UNREACHABLE_AFTER_MS + 2 probe intervals of its last answer once stopped', async () => {
    await second.stop();
    const engine = await waitFor(
      async () => {
        const now = await get(name);
        return now.state === 'unreachable' ? now : undefined;
      },
      { timeoutMs: 10_000, intervalMs: 25, description: `${name} to be unreachable` },
    );
    const silentMs = Date.parse(engine.stateChangedAt) - Date.parse(engine.lastSeenAt!);
    expect(silentMs).toBeGreaterThanOrEqual(UNREACHABLE_AFTER_MS);
    expect(silentMs).toBeLessThanOrEqual(UNREACHABLE_AFTER_MS + 2 * PROBE_INTERVAL_MS);
    expect(engine.stateReason).toContain('no answer for');
    // A lost engine cannot be undrained or drained: it comes back by itself.
    expect((await call('admin', 'POST', `/api/engines/${name}/drain`)).status).toBe(409);
  });

  it('makes it active again once it answers', async () => {
    await second.start();
    const engine = await waitFor(
      async () => {
        const now = await get(name);
        return now.state === 'active' ? now : undefined;
      },
      { timeoutMs: 5_000, description: `${name} to be active again` },
    );
    expect(engine.stateReason).toContain('answered again');
  });

  it('published every change on the emitter, in order, with who made it', () => {
    const admin = expect.stringMatching(/^admin/);
    expect(eventsOf(name).map((event) => [event.name, event.payload.previousState, event.payload.state])).toEqual([
      ['engine:added', null, 'active'],
      ['engine:draining', 'active', 'draining'],
      ['engine:drained', 'draining', 'drained'],
      ['engine:active', 'drained', 'active'],
      ['engine:updated', 'active', 'active'],
      ['engine:unreachable', 'active', 'unreachable'],
      ['engine:active', 'unreachable', 'active'],
    ]);
    expect(eventsOf(name).map((event) => event.payload.actor)).toEqual([
      admin,
      admin,
      'system',
      admin,
      admin,
      'system',
      'system',
    ]);
    expect(eventsOf('silent')).toEqual([]);
  });

  it('audited the calls, and the changes the prober made on its own', async () => {
    const rows = await call<Array<{ actor: string; action: string; outcome: string }>>(
      'operator',
      'GET',
      `/api/audit?target=${name}&limit=100`,
    );
    expect(rows.status).toBe(200);
    const actions = rows.data.map((row) => `${row.actor.startsWith('admin') ? 'admin' : row.actor} ${row.action}`);
    expect(actions).toEqual(
      expect.arrayContaining([
        'admin engine.add',
        'admin engine.drain',
        'system engine.drained',
        'admin engine.update',
        'system engine.unreachable',
        'system engine.active',
      ]),
    );
  });
});
