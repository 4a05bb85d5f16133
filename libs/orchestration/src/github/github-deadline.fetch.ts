/**
 * A fetch that gives up after `timeoutMs`. It is handed to Octokit as `request.fetch`, so that every HTTP call
 * Octokit makes carries the deadline, including the ones RunnerHub does not start itself: the GitHub App's
 * installation-token exchange and the follow-up pages of a paginated list.
 *
 * The deadline covers the whole exchange, body included. Failures are reworded here because Octokit 20 replaces
 * any fetch failure that is not an `AbortError` by its own RequestError (status 500, no response) and keeps only
 * the message, and Node's fetch says only "fetch failed", with the reason in `cause`.
 */
export function fetchWithDeadline(timeoutMs: number, baseFetch: typeof fetch = fetch): typeof fetch {
  return async (input, init) => {
    const deadline = AbortSignal.timeout(timeoutMs);
    const signal = init?.signal ? AbortSignal.any([init.signal, deadline]) : deadline;
    try {
      return await baseFetch(input, { ...init, signal });
    } catch (error) {
      if (deadline.aborted) throw new Error(`no answer within ${timeoutMs} ms`, { cause: error });
      const reason = reasonOf(error);
      throw reason ? new Error(reason, { cause: error }) : error;
    }
  };
}

/** "connect ECONNREFUSED 127.0.0.1:9", from the cause of Node's TypeError("fetch failed"). */
function reasonOf(error: unknown): string | undefined {
  // Read by shape, not instanceof: under Jest, Node's errors come from another realm.
  const cause = typeof error === 'object' && error !== null ? (error as { cause?: unknown }).cause : undefined;
  if (typeof cause !== 'object' || cause === null) return undefined;
  const { message, code } = cause as { message?: unknown; code?: unknown };
  if (typeof message === 'string' && message !== '') return message;
  return typeof code === 'string' ? code : undefined;
}
