/**
 * Runs work with a deadline. On expiry the signal handed to the work is aborted (so dockerode tears the request down
 * and no socket is left open) and the call rejects at once with onTimeout()'s error, without waiting for the work to
 * notice. A late failure of the abandoned work is swallowed: nobody is listening for it any more.
 */
export async function withDeadline<T>(
  timeoutMs: number,
  work: (signal: AbortSignal) => Promise<T>,
  onTimeout: () => Error,
): Promise<T> {
  const controller = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  const expiry = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      reject(onTimeout());
      controller.abort();
    }, timeoutMs);
  });
  const running = work(controller.signal);
  running.catch(() => undefined);
  try {
    return await Promise.race([running, expiry]);
  } finally {
    clearTimeout(timer);
  }
}
