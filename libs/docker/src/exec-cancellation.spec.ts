import { getEventListeners } from 'node:events';
import { ExecAbandoned, withExecLimits } from './exec-cancellation';

const never = () => new Promise<number>(() => undefined);

describe('withExecLimits', () => {
  it('returns the result of work that finishes in time, and leaves no listener on the caller signal', async () => {
    const caller = new AbortController();
    let seen: AbortSignal | undefined;
    const result = await withExecLimits(
      1_000,
      caller.signal,
      (signal) => {
        seen = signal;
        return Promise.resolve(42);
      },
      () => new Error('late'),
    );
    expect(result).toBe(42);
    expect(seen?.aborted).toBe(false);
    expect(getEventListeners(caller.signal, 'abort')).toHaveLength(0);
  });

  it('rejects with the timeout error and aborts the work when the deadline passes', async () => {
    const caller = new AbortController();
    let seen: AbortSignal | undefined;
    const work = (signal: AbortSignal) => {
      seen = signal;
      return never();
    };
    await expect(withExecLimits(20, caller.signal, work, () => new Error('too slow'))).rejects.toThrow('too slow');
    expect(seen?.aborted).toBe(true);
    expect(getEventListeners(caller.signal, 'abort')).toHaveLength(0);
  });

  it('rejects with ExecAbandoned at once when the caller aborts, and aborts the work', async () => {
    const caller = new AbortController();
    let seen: AbortSignal | undefined;
    const work = (signal: AbortSignal) => {
      seen = signal;
      return never();
    };
    const running = withExecLimits(60_000, caller.signal, work, () => new Error('too slow'));
    caller.abort();
    await expect(running).rejects.toBeInstanceOf(ExecAbandoned);
    expect(seen?.aborted).toBe(true);
  });

  it('starts no work for a caller that has already given up', async () => {
    const caller = new AbortController();
    caller.abort();
    const work = jest.fn(never);
    await expect(withExecLimits(1_000, caller.signal, work, () => new Error('late'))).rejects.toBeInstanceOf(
      ExecAbandoned,
    );
    expect(work).not.toHaveBeenCalled();
  });

  it('works without a caller signal, as a plain deadline', async () => {
    await expect(
      withExecLimits(
        1_000,
        undefined,
        () => Promise.resolve('ok'),
        () => new Error('late'),
      ),
    ).resolves.toBe('ok');
    await expect(withExecLimits(10, undefined, never, () => new Error('too slow'))).rejects.toThrow('too slow');
  });

  it('does not leak an unhandled rejection when the abandoned work fails afterwards', async () => {
    const unhandled = jest.fn();
    process.on('unhandledRejection', unhandled);
    try {
      const caller = new AbortController();
      const failsLater = () => new Promise<number>((_, reject) => setTimeout(() => reject(new Error('after')), 30));
      const running = withExecLimits(1_000, caller.signal, failsLater, () => new Error('late'));
      caller.abort();
      await expect(running).rejects.toBeInstanceOf(ExecAbandoned);
      await new Promise((resolve) => setTimeout(resolve, 60));
      expect(unhandled).not.toHaveBeenCalled();
    } finally {
      process.off('unhandledRejection', unhandled);
    }
  });
});
