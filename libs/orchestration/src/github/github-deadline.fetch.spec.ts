import { fetchWithDeadline } from './github-deadline.fetch';

/** A fetch that never answers, but gives up when its signal aborts, as Node's does. */
const silentFetch: typeof fetch = (_input, init) =>
  new Promise<Response>((_resolve, reject) => {
    const signal = init?.signal;
    signal?.addEventListener('abort', () => reject(signal.reason as Error));
  });

describe(fetchWithDeadline.name, () => {
  it('gives up after the deadline, saying so', async () => {
    const started = Date.now();
    await expect(fetchWithDeadline(50, silentFetch)('http://github.invalid')).rejects.toThrow('no answer within 50 ms');
    expect(Date.now() - started).toBeGreaterThanOrEqual(45);
  });

  it("still honours the caller's own signal", async () => {
    const controller = new AbortController();
    const call = fetchWithDeadline(60_000, silentFetch)('http://github.invalid', { signal: controller.signal });
    controller.abort(new Error('cancelled by the caller'));
    await expect(call).rejects.toThrow('cancelled by the caller');
  });

  it('replaces "fetch failed" by its cause', async () => {
    const refused: typeof fetch = () =>
      Promise.reject(
        new TypeError('fetch failed', {
          cause: Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:9'), { code: 'ECONNREFUSED' }),
        }),
      );
    await expect(fetchWithDeadline(1_000, refused)('http://127.0.0.1:9')).rejects.toThrow(
      'connect ECONNREFUSED 127.0.0.1:9',
    );
  });

  it('answers what the fetch answered in time', async () => {
    const answering: typeof fetch = () => Promise.resolve(new Response('{}', { status: 201 }));
    expect((await fetchWithDeadline(1_000, answering)('http://github.invalid')).status).toBe(201);
  });
});
