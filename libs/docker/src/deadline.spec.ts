import { withDeadline } from './deadline';

describe('withDeadline', () => {
  it('returns the result of work that finishes in time, and leaves its signal alone', async () => {
    let seen: AbortSignal | undefined;
    const result = await withDeadline(
      1_000,
      (signal) => {
        seen = signal;
        return Promise.resolve(42);
      },
      () => new Error('late'),
    );
    expect(result).toBe(42);
    expect(seen?.aborted).toBe(false);
  });

  it('rejects with the timeout error and aborts the work when the deadline passes', async () => {
    let seen: AbortSignal | undefined;
    const never = (signal: AbortSignal) => {
      seen = signal;
      return new Promise<number>(() => undefined);
    };
    await expect(withDeadline(20, never, () => new Error('too slow'))).rejects.toThrow('too slow');
    expect(seen?.aborted).toBe(true);
  });

  it('passes the failure of the work through unchanged', async () => {
    await expect(
      withDeadline(
        1_000,
        () => Promise.reject(new Error('boom')),
        () => new Error('late'),
      ),
    ).rejects.toThrow('boom');
  });

  it('does not leak an unhandled rejection when the abandoned work fails after the deadline', async () => {
    const unhandled = jest.fn();
    process.on('unhandledRejection', unhandled);
    try {
      const failsLater = () => new Promise<number>((_, reject) => setTimeout(() => reject(new Error('after')), 30));
      await expect(withDeadline(5, failsLater, () => new Error('deadline'))).rejects.toThrow('deadline');
      await new Promise((resolve) => setTimeout(resolve, 60));
      expect(unhandled).not.toHaveBeenCalled();
    } finally {
      process.off('unhandledRejection', unhandled);
    }
  });
});
