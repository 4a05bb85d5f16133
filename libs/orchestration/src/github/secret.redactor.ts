/**
 * Shapes of GitHub credentials, so that a secret is caught in text even when RunnerHub did not know its value (an
 * installation token issued a moment ago, a JWT signed for one call): personal access tokens (classic and
 * fine-grained), OAuth, installation and refresh tokens, the older 40-hex installation tokens, JWTs, PEM keys.
 */
const SECRET_SHAPES: readonly RegExp[] = [
  /-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]*?(?:-----END [A-Z ]*PRIVATE KEY-----|$)/g,
  /\bgh[pousr]_[A-Za-z0-9_]{16,}/g,
  /\bgithub_pat_[A-Za-z0-9_]{16,}/g,
  /\bv1\.[0-9a-f]{40}\b/g,
  /\beyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*/g,
];

export const REDACTED = '[REDACTED]';

/**
 * Removes secrets from text that comes from outside (what GitHub or the network answered) before it goes into an
 * error message or a log line. Known values (the configured token, the App's private key) are removed whatever
 * their shape; values shorter than 8 characters are not, as they would blank out ordinary words.
 */
export function redactSecrets(text: string, known: ReadonlyArray<string | undefined> = []): string {
  let result = text;
  for (const value of known) {
    if (value && value.length >= 8) result = result.split(value).join(REDACTED);
  }
  for (const shape of SECRET_SHAPES) result = result.replace(shape, REDACTED);
  return result;
}
