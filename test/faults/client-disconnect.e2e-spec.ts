import http from 'node:http';
import { Socket } from 'node:net';
import { DockerEngine } from '@app/docker';
import { Schemas } from '../client/client';
import { API_KEYS, ApiSuite, startApiSuite } from '../support/api-suite';
import { expectDatabaseAndEngineAgree } from '../support/consistency';
import { testDatabaseKinds } from '../support/databases';
import { docker, inspectContainer } from '../support/engine-cli';
import { TEST_IMAGE } from '../support/test-env';
import { waitFor } from '../support/wait-for';

type Container = Schemas['ContainerDto'];

/** How an in-use socket of Node's HTTP agent shows the request it is serving (an internal field, read only here). */
interface AgentSocket {
  _httpMessage?: { path?: string } | null;
}

/** The service runs in this process, so its sockets are this process's handles. */
function socketHandles(): Socket[] {
  const handles = (process as unknown as { _getActiveHandles(): unknown[] })._getActiveHandles();
  return handles.filter((handle): handle is Socket => handle instanceof Socket);
}

/**
 * Sockets that keep the process busy and were not there before: an exec's hijacked stream, an engine request still
 * in flight, the server's side of the client's connection. Idle keep-alive sockets of the engine client's pool are
 * unreferenced by the agent (and closed by its timeout), so they are not counted: they are not anything left behind.
 */
function socketsSince(before: Set<Socket>): Socket[] {
  return socketHandles().filter((socket) => !before.has(socket) && !socket.destroyed);
}

/** Engine requests in flight on the engine client's connections whose path contains `fragment`. */
function engineRequestsTo(fragment: string): string[] {
  const agent = http.globalAgent as unknown as { sockets: Record<string, AgentSocket[]> };
  return Object.values(agent.sockets)
    .flat()
    .map((socket) => socket._httpMessage?.path ?? '')
    .filter((path) => path.includes(fragment));
}

/**
 * A request on a connection of its own, outside any keep-alive pool, so that hanging up closes exactly this
 * connection. (With an aborted fetch, another idle connection of fetch's pool was measured open on the server for
 * about 4 s afterwards, its idle timeout: nothing of the service's, but it blurs the count of sockets.)
 * `answer` says how the call ended for the client: `answered <status>` or the error of the hang-up.
 */
function requestOnOwnConnection(
  url: string,
  { method = 'GET', apiKey, body }: { method?: string; apiKey: string; body?: unknown },
): { answer: Promise<string>; hangUp(): void } {
  const payload = body === undefined ? undefined : JSON.stringify(body);
  const request = http.request(url, {
    method,
    agent: false,
    headers: {
      authorization: `Bearer ${apiKey}`,
      ...(payload ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) } : {}),
    },
  });
  const answer = new Promise<string>((resolve) => {
    request.once('response', (response) => resolve(`answered ${response.statusCode}`));
    request.once('error', (error) => resolve(error.message));
  });
  request.end(payload);
  return { answer, hangUp: () => request.destroy() };
}

describe.each(testDatabaseKinds())('a client that disconnects mid-request, on %s', (kind) => {
  let suite: ApiSuite;
  let container: Container;
  const repository = () => `octo/${suite.run}`;

  beforeAll(async () => {
    suite = await startApiSuite(kind, 'disconnect');
    const { data, response } = await suite.operator.POST('/api/containers', {
      body: {
        jobId: `job-${suite.run}`,
        repository: repository(),
        config: { image: TEST_IMAGE, command: ['sleep', '3600'], labels: suite.labels },
      },
    });
    expect(response.status).toBe(201);
    container = data!.data;
  });

  afterAll(async () => {
    await suite?.close();
  });

  /** Processes of the drill's command in the container, seen by the engine (`docker top`), not through RunnerHub. */
  function drillProcesses(): string[] {
    return docker(['top', container.engineId!, '-o', 'pid,args'])
      .split('\n')
      .slice(1)
      .filter((line) => /\bsleep 30$/.test(line.trim()));
  }

  /** The container outlived the drill as it was: running on the engine and in its record, and answering an exec. */
  async function expectContainerUnharmed(): Promise<void> {
    expect(inspectContainer(container.engineId!)?.State).toMatchObject({ Running: true, OOMKilled: false });
    const { data: record } = await suite.viewer.GET('/api/containers/{id}', {
      params: { path: { id: container.id } },
    });
    expect(record?.data).toMatchObject({ state: 'running', exitCode: null });
    const { data: exec } = await suite.admin.POST('/api/containers/{id}/exec', {
      params: { path: { id: container.id } },
      body: { command: ['echo', 'still here'], timeoutMs: 10_000 },
    });
    expect(exec?.data).toMatchObject({ exitCode: 0, stdout: 'still here\n' });
    expect((await fetch(`${suite.baseUrl}/health`)).status).toBe(200);
  }

  it('an exec whose client hangs up has its command killed and leaves no stream open', async () => {
    const before = new Set(socketHandles());
    const exec = requestOnOwnConnection(`${suite.baseUrl}/api/containers/${container.id}/exec`, {
      method: 'POST',
      apiKey: API_KEYS.admin,
      // A deadline far beyond the drill: only the hang-up may end this command early.
      body: { command: ['sleep', '30'], timeoutMs: 60_000 },
    });
    await waitFor(() => drillProcesses().length > 0, { description: '`sleep 30` to run in the container' });

    exec.hangUp();
    expect(await exec.answer).toBe('socket hang up');

    // Docker alone would let it run its whole 30 s (docs/STACK-NOTES.md).
    await waitFor(() => drillProcesses().length === 0, {
      timeoutMs: 5_000,
      description: 'no `sleep 30` left in the container after the client hung up',
    });
    // Checked before any other request opens sockets of its own.
    await waitFor(() => socketsSince(before).length === 0 && engineRequestsTo(`/exec/`).length === 0, {
      timeoutMs: 5_000,
      description: 'no exec stream, engine request or client connection left open',
    });
    // The handler itself ended: the audit row is written when its (unreceived) answer is.
    const audit = await waitFor(
      async () => {
        const { data } = await suite.operator.GET('/api/audit', {
          params: { query: { action: 'container.exec', target: container.id } },
        });
        return data?.data.find((entry) => (entry.details.command as string[] | undefined)?.join(' ') === 'sleep 30');
      },
      { description: 'the audit row of the abandoned exec' },
    );
    expect(audit).toMatchObject({ outcome: 'failure', status: 499 });

    await expectContainerUnharmed();
    await expectDatabaseAndEngineAgree(
      suite.baseUrl,
      API_KEYS.viewer,
      repository(),
      (record) => record.id === container.id,
    );
  });

  it('a logs request whose client hangs up mid-way leaves no engine connection open', async () => {
    docker(['exec', container.engineId!, 'sh', '-c', 'echo drill line > /proc/1/fd/1']);
    const engine = suite.app.get(DockerEngine);
    const readLogs = engine.logs.bind(engine);
    // The engine answers the logs in milliseconds, too fast to hang up in the middle by timing: the engine call is
    // held until the client is gone, then made for real, so the whole read happens with nobody left to answer.
    let reachedEngine!: () => void;
    const reached = new Promise<void>((resolve) => (reachedEngine = resolve));
    let releaseEngineCall!: () => void;
    const released = new Promise<void>((resolve) => (releaseEngineCall = resolve));
    let engineCall: Promise<unknown> | undefined;
    const held = jest.spyOn(engine, 'logs').mockImplementation((...args) => {
      reachedEngine();
      engineCall = released.then(() => readLogs(...args));
      return engineCall as ReturnType<DockerEngine['logs']>;
    });
    try {
      const before = new Set(socketHandles());
      const logs = requestOnOwnConnection(`${suite.baseUrl}/api/containers/${container.id}/logs?tail=10000`, {
        apiKey: API_KEYS.viewer,
      });
      await reached;
      logs.hangUp();
      expect(await logs.answer).toBe('socket hang up');
      releaseEngineCall();

      // The read ran to its end with the client gone, and its answer went nowhere without failing the service.
      await expect(engineCall).resolves.toMatchObject({ lines: [{ stream: 'stdout', text: 'drill line' }] });
      await waitFor(
        () =>
          socketsSince(before).length === 0 && engineRequestsTo(`/containers/${container.engineId}/logs`).length === 0,
        { timeoutMs: 5_000, description: 'no logs request to the engine or client connection left open' },
      );
    } finally {
      held.mockRestore();
    }

    const { data, response } = await suite.viewer.GET('/api/containers/{id}/logs', {
      params: { path: { id: container.id }, query: { tail: 10 } },
    });
    expect(response.status).toBe(200);
    expect(data?.data.lines).toContainEqual(expect.objectContaining({ stream: 'stdout', text: 'drill line' }));
    await expectContainerUnharmed();
    await expectDatabaseAndEngineAgree(
      suite.baseUrl,
      API_KEYS.viewer,
      repository(),
      (record) => record.id === container.id,
    );
  });
});
