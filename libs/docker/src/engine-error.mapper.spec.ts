import { DomainError, ErrorCode } from '@app/common';
import recorded from './__fixtures__/engine-errors.json';
import { EngineCallContext, mapEngineError } from './engine-error.mapper';

type Shape = { name: string; message: string; statusCode?: number; reason?: string; json?: unknown; code?: string };

/** Rebuilds the error object dockerode threw from its recorded shape (Buffers were recorded in their JSON form). */
function rebuild(shape: Shape): Error {
  const error = new Error(shape.message) as Error & Record<string, unknown>;
  error.name = shape.name;
  for (const key of ['statusCode', 'reason', 'code'] as const) if (shape[key] !== undefined) error[key] = shape[key];
  const json = shape.json as { type?: string; data?: number[] } | undefined;
  if (json !== undefined) error.json = json?.type === 'Buffer' ? Buffer.from(json.data ?? []) : json;
  return error;
}

const errors = recorded as unknown as Record<string, Shape>;
const socket: EngineCallContext = { endpoint: 'unix:///var/run/docker.sock', operation: 'inspect container' };

function mapped(name: string, context: Partial<EngineCallContext> = {}): DomainError {
  const result = mapEngineError(rebuild(errors[name]), { ...socket, ...context });
  if (!(result instanceof DomainError)) throw new Error(`${name} was not mapped to a DomainError`);
  return result;
}

describe('mapEngineError on errors recorded from Docker 20.10', () => {
  it('maps an unknown container to NotFound naming the container, with the engine message kept', () => {
    const error = mapped('inspectUnknownContainer', { containerId: 'runnerhub-no-such-container' });
    expect(error.code).toBe(ErrorCode.NotFound);
    expect(error.message).toContain('Container runnerhub-no-such-container does not exist');
    expect(error.details).toMatchObject({
      statusCode: 404,
      engineMessage: 'No such container: runnerhub-no-such-container',
      containerId: 'runnerhub-no-such-container',
    });
  });

  it('maps a create with a missing image (404 that dockerode labels "no such container") to ImageNotFound', () => {
    const error = mapped('createMissingImage', {
      operation: 'create container',
      containerId: 'runner-1',
      image: 'runnerhub-test/missing:404',
    });
    expect(error.code).toBe(ErrorCode.ImageNotFound);
    expect(error.message).toContain('runnerhub-test/missing:404');
    expect(error.message).toMatch(/already on the engine/);
    expect(error.message).toMatch(/docker pull.*docker load/);
    expect(error.details).toMatchObject({ image: 'runnerhub-test/missing:404', engineMessage: expect.any(String) });
  });

  it('maps an image inspect 404 to ImageNotFound, finding the image name in the message when not given', () => {
    const error = mapped('inspectMissingImage', { operation: 'inspect image' });
    expect(error.code).toBe(ErrorCode.ImageNotFound);
    expect(error.details).toMatchObject({ image: 'runnerhub-test/missing:404' });
  });

  it.each(['createNameConflict', 'execOnStoppedContainer', 'removeRunningWithoutForce'])(
    'maps %s (409) to Conflict with the engine message',
    (name) => {
      const error = mapped(name);
      expect(error.code).toBe(ErrorCode.Conflict);
      expect(error.message).toContain((errors[name].json as { message: string }).message);
    },
  );

  it('maps the storage-opt refusal of overlay2 on ext4 (500) to UnsupportedByEngine with the engine reason', () => {
    const error = mapped('createStorageOpt', { operation: 'create container' });
    expect(error.code).toBe(ErrorCode.UnsupportedByEngine);
    expect(error.message).toContain("--storage-opt is supported only for overlay over xfs with 'pquota' mount option");
    expect(error.details).toMatchObject({ statusCode: 500 });
  });

  it.each([
    ['createMemoryTooSmall', 400, 'Minimum memory limit allowed is 6MB'],
    ['createBadSecurityOpt', 500, 'invalid --security-opt 1: "bogus"'],
    ['createInvalidName', 400, 'Invalid container name (bad name!)'],
  ])('maps %s to EngineRejected with status %d and the message', (name, status, message) => {
    const error = mapped(name, { operation: 'create container' });
    expect(error.code).toBe(ErrorCode.EngineRejected);
    expect(error.message).toContain(`HTTP ${status}`);
    expect(error.message).toContain(message);
    expect(error.details).toMatchObject({ statusCode: status });
  });

  it('maps a 304 that reached it (a Buffer body, no message) to EngineRejected without crashing', () => {
    const error = mapped('stopNotRunning');
    expect(error.code).toBe(ErrorCode.EngineRejected);
    expect(error.message).toContain('HTTP 304');
  });

  it('maps a missing socket to EngineUnavailable naming the endpoint and the socket', () => {
    const error = mapped('socketMissing', { endpoint: 'unix:///tmp/rh-missing/docker.sock' });
    expect(error.code).toBe(ErrorCode.EngineUnavailable);
    expect(error.message).toBe(
      'Docker engine at unix:///tmp/rh-missing/docker.sock is not reachable: ' +
        'the socket /tmp/rh-missing/docker.sock does not exist (is dockerd running?)',
    );
    expect(error.details).toMatchObject({ code: 'ENOENT' });
  });

  it.each(['socketRefused', 'tcpRefused', 'socketHangUp', 'connectionClosedAtOnce', 'tcpTimeout'])(
    'maps the connection failure %s to EngineUnavailable',
    (name) => {
      const error = mapped(name, { endpoint: 'tcp://127.0.0.1:1' });
      expect(error.code).toBe(ErrorCode.EngineUnavailable);
      expect(error.message).toMatch(/^Docker engine at tcp:\/\/127\.0\.0\.1:1 is not reachable: /);
      expect(error.message).toContain(errors[name].message);
    },
  );
});

describe('mapEngineError on shapes not recorded here', () => {
  it('maps ETIMEDOUT (a remote engine that stopped answering) to EngineUnavailable', () => {
    const timeout = Object.assign(new Error('connect ETIMEDOUT 10.0.0.9:2376'), { code: 'ETIMEDOUT' });
    expect(mapEngineError(timeout, socket)).toMatchObject({ code: ErrorCode.EngineUnavailable });
  });

  it('maps an aborted request to EngineUnavailable', () => {
    const aborted = Object.assign(new Error('The operation was aborted'), { name: 'AbortError', code: 'ABORT_ERR' });
    expect(mapEngineError(aborted, socket)).toMatchObject({ code: ErrorCode.EngineUnavailable });
  });

  it('recognises an error from another realm (instanceof Error is false there) by its shape', () => {
    const foreign = { name: 'Error', message: 'connect ENOENT /x/docker.sock', code: 'ENOENT' };
    expect(foreign instanceof Error).toBe(false);
    expect(mapEngineError(foreign, socket)).toMatchObject({ code: ErrorCode.EngineUnavailable });
  });

  it('passes a DomainError through unchanged', () => {
    const original = new DomainError(ErrorCode.Timeout, 'late');
    expect(mapEngineError(original, socket)).toBe(original);
  });

  it('returns a programming error unchanged instead of disguising it as engine trouble', () => {
    const bug = new TypeError("Cannot read properties of undefined (reading 'Id')");
    expect(mapEngineError(bug, socket)).toBe(bug);
  });

  it('keeps the cause', () => {
    const cause = rebuild(errors.inspectUnknownContainer);
    expect(mapEngineError(cause, socket)).toMatchObject({ cause });
  });
});
