import type { ImagePullFailureReason } from '@app/common';

/**
 * What the engine says when a pull fails, grouped by what the operator has to do about it. Every pattern comes from
 * a text the engine (Docker 20.10) or a registry really sends; the unit tests hold the recorded texts.
 *
 * Order matters: "unauthorized" before "not found" (Docker Hub's "pull access denied ... repository does not exist or
 * may require 'docker login'" is both, and credentials are what fixes it when the name is right), and both before
 * the network patterns (an auth error message can quote a URL).
 */
const PATTERNS: ReadonlyArray<readonly [ImagePullFailureReason, RegExp]> = [
  ['unauthorized', /\bunauthorized\b/i],
  ['unauthorized', /authentication required/i],
  ['unauthorized', /no basic auth credentials/i],
  ['unauthorized', /incorrect username or password/i],
  ['unauthorized', /pull access denied/i],
  ['unauthorized', /(^|: )denied\b/i],
  ['unauthorized', /requested access to the resource is denied/i],
  ['not-found', /manifest unknown/i],
  ['not-found', /manifest for \S+ not found/i],
  ['not-found', /name unknown/i],
  ['not-found', /repository name not known to registry/i],
  ['not-found', /repository does not exist/i],
  ['not-found', /\bnot found: /i],
  ['unreachable', /connection refused/i],
  ['unreachable', /no such host/i],
  ['unreachable', /i\/o timeout/i],
  ['unreachable', /TLS handshake timeout/i],
  ['unreachable', /network is unreachable/i],
  ['unreachable', /no route to host/i],
  ['unreachable', /connection reset by peer/i],
  ['unreachable', /Client\.Timeout exceeded/i],
  ['unreachable', /context deadline exceeded/i],
  ['unreachable', /server misbehaving/i],
  ['unreachable', /dial tcp/i],
];

/**
 * Sorts a failed pull's message (from the HTTP error or from the stream's `error` line) into the reason the
 * IMAGE_PULL_FAILED details carry; `failed` for anything else (a missing blob, a full disk, a bad certificate).
 */
export function classifyPullFailure(message: string): ImagePullFailureReason {
  for (const [reason, pattern] of PATTERNS) if (pattern.test(message)) return reason;
  return 'failed';
}

/** docker-modem prefixes the engine's text with `(HTTP code 500) server error - `: the registry's answer is the rest. */
export function engineTextOf(message: string): string {
  const match = /^\(HTTP code \d+\) [^-]*- (.*)$/s.exec(message);
  return (match ? match[1] : message).trim();
}

/** Takes out every secret that could appear in a text; never trust an engine or registry text not to echo one. */
export function redact(text: string, secrets: readonly string[]): string {
  let result = text;
  for (const secret of secrets) if (secret.length >= 3) result = result.split(secret).join('***');
  return result;
}
