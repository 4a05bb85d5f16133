/** Thrown inside an exec when its caller's signal aborts; the exec's processes are reaped before anything is answered. */
export class ExecAbandoned extends Error {
  constructor() {
    super('the caller of the exec gave up on it');
  }
}

/**
 * Runs an exec's work until it settles, its deadline passes or its caller's signal aborts, whichever comes first.
 * Docker 20.10 keeps an exec running after its client hangs up, so both early ends matter alike: the signal handed to
 * the work is aborted (dockerode tears its requests down, a start not yet sent is never sent) and the call rejects at
 * once, with onTimeout()'s error or with ExecAbandoned, leaving the caller to reap the exec's processes. A late failure
 * of the abandoned work is swallowed: nobody is listening for it any more. Nothing is left on the caller's signal.
 */
export async function withExecLimits<T>(
  timeoutMs: number,
  caller: AbortSignal | undefined,
  work: (signal: AbortSignal) => Promise<T>,
  onTimeout: () => Error,
): Promise<T> {
  // Checked before any work starts: a caller already gone gets nothing created on the engine.
  if (caller?.aborted) throw new ExecAbandoned();
  const controller = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  let onCallerAbort: (() => void) | undefined;
  const cutShort = new Promise<never>((_, reject) => {
    const stop = (error: Error) => {
      reject(error);
      controller.abort(error);
    };
    timer = setTimeout(() => stop(onTimeout()), timeoutMs);
    onCallerAbort = () => stop(new ExecAbandoned());
    caller?.addEventListener('abort', onCallerAbort, { once: true });
  });
  const running = work(controller.signal);
  running.catch(() => undefined);
  try {
    return await Promise.race([running, cutShort]);
  } finally {
    clearTimeout(timer);
    if (onCallerAbort) caller?.removeEventListener('abort', onCallerAbort);
  }
}
