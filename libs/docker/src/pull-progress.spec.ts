import { PullStreamReader } from './pull-progress';

/** Recorded: pull of a two-layer image from a local registry; the base layer was already on the engine. */
const LAYERED = [
  '{"status":"Pulling from explore/layered","id":"1"}',
  '{"status":"Already exists","progressDetail":{},"id":"7a9e4cce8877"}',
  '{"status":"Pulling fs layer","progressDetail":{},"id":"cb4baa48ca5d"}',
  '{"status":"Downloading","progressDetail":{"current":32768,"total":3001125},"progress":"[\\u003e                                                  ]  32.77kB/3.001MB","id":"cb4baa48ca5d"}',
  '{"status":"Verifying Checksum","progressDetail":{},"id":"cb4baa48ca5d"}',
  '{"status":"Download complete","progressDetail":{},"id":"cb4baa48ca5d"}',
  '{"status":"Extracting","progressDetail":{"current":32768,"total":3001125},"progress":"[\\u003e                                                  ]  32.77kB/3.001MB","id":"cb4baa48ca5d"}',
  '{"status":"Extracting","progressDetail":{"current":3001125,"total":3001125},"progress":"[==================================================\\u003e]  3.001MB/3.001MB","id":"cb4baa48ca5d"}',
  '{"status":"Pull complete","progressDetail":{},"id":"cb4baa48ca5d"}',
  '{"status":"Digest: sha256:0e1012b8a7f8cd9ec725579921f5811b5b718c6ff24adf469b0d38097bb0da00"}',
  '{"status":"Status: Downloaded newer image for 127.0.0.1:45709/explore/layered:1"}',
].join('\r\n');

/** Recorded (HTTP 200): the manifest was there, the layer's blob had been deleted from the registry's storage. */
const MISSING_BLOB = [
  '{"status":"Pulling from explore/random","id":"1"}',
  '{"status":"Pulling fs layer","progressDetail":{},"id":"6ff97fa67b10"}',
  '{"status":"Downloading","progressDetail":{},"id":"6ff97fa67b10"}',
  '{"errorDetail":{"message":"unknown blob"},"error":"unknown blob"}',
  '',
].join('\r\n');

describe('PullStreamReader', () => {
  it('follows a recorded pull to its digest and counts only downloaded bytes', () => {
    const reader = new PullStreamReader();
    reader.push(LAYERED + '\r\n');
    expect(reader.error).toBeNull();
    expect(reader.digest).toBe('sha256:0e1012b8a7f8cd9ec725579921f5811b5b718c6ff24adf469b0d38097bb0da00');
    expect(reader.status).toBe('Status: Downloaded newer image for 127.0.0.1:45709/explore/layered:1');
    expect(reader.progress()).toEqual({ layersTotal: 2, layersDone: 2, bytesDone: 3001125, bytesTotal: 3001125 });
  });

  it('reports the progress part-way, before the download completes', () => {
    const reader = new PullStreamReader();
    reader.push(LAYERED.split('\r\n').slice(0, 4).join('\n') + '\n');
    expect(reader.progress()).toEqual({ layersTotal: 2, layersDone: 1, bytesDone: 32768, bytesTotal: 3001125 });
  });

  it('has no total while a layer waits with an unknown size', () => {
    const reader = new PullStreamReader();
    reader.push(
      [
        '{"status":"Pulling fs layer","progressDetail":{},"id":"aaaaaaaaaaaa"}',
        '{"status":"Pulling fs layer","progressDetail":{},"id":"bbbbbbbbbbbb"}',
        '{"status":"Waiting","progressDetail":{},"id":"bbbbbbbbbbbb"}',
        '{"status":"Downloading","progressDetail":{"current":100,"total":1000},"id":"aaaaaaaaaaaa"}',
        '',
      ].join('\n'),
    );
    expect(reader.progress()).toEqual({ layersTotal: 2, layersDone: 0, bytesDone: 100, bytesTotal: null });
  });

  it('keeps the error a stream carries under HTTP 200', () => {
    const reader = new PullStreamReader();
    reader.push(MISSING_BLOB);
    expect(reader.error).toBe('unknown blob');
  });

  it('keeps the first error when several come, and takes errorDetail or error', () => {
    const reader = new PullStreamReader();
    reader.push('{"error":"unauthorized: authentication required"}\n{"errorDetail":{"message":"later"}}\n');
    expect(reader.error).toBe('unauthorized: authentication required');
  });

  it('reassembles lines cut anywhere, inside a multi-byte character too', () => {
    const bytes = Buffer.from(LAYERED.replace('explore/layered:1"}', 'explore/layëred:1"}') + '\n', 'utf8');
    const reader = new PullStreamReader();
    for (let at = 0; at < bytes.length; at += 7) reader.push(bytes.subarray(at, at + 7));
    expect(reader.status).toBe('Status: Downloaded newer image for 127.0.0.1:45709/explore/layëred:1');
    expect(reader.progress().bytesDone).toBe(3001125);
  });

  it('reads a last line the engine did not end with a newline', () => {
    const reader = new PullStreamReader();
    reader.push('{"status":"Pulling from x","id":"1"}\n{"error":"manifest unknown"}');
    expect(reader.error).toBeNull();
    reader.end();
    expect(reader.error).toBe('manifest unknown');
  });

  it('treats a line that is not JSON as a failure', () => {
    const reader = new PullStreamReader();
    reader.push('<html>proxy error</html>\n');
    expect(reader.error).toMatch(/unreadable pull stream line: <html>proxy error/);
  });
});
