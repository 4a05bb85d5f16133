/**
 * Shapes of GitHub credentials, so that a secret is caught in text even when RunnerHub did not know its value (an
 * installation token issued a moment ago, a JWT signed for one call, a runner's credential): personal access tokens
 * (classic and fine-grained), OAuth, installation and refresh tokens, the older 40-hex installation tokens, JWTs, PEM
 * keys, just-in-time runner configurations, and registration and remove tokens.
 */
const SECRET_SHAPES: readonly RegExp[] = [
  /-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]*?(?:-----END [A-Z ]*PRIVATE KEY-----|$)/g,
  /\bgh[pousr]_[A-Za-z0-9_]{16,}/g,
  /\bgithub_pat_[A-Za-z0-9_]{16,}/g,
  /\bv1\.[0-9a-f]{40}\b/g,
  /\beyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*/g,
  // A JIT configuration (`encoded_jit_config` of generate-jitconfig): the base64 of a JSON object (`{"` encodes as
  // `ey` and `I` or `J`) mapping the runner's files, its RSA private key among them, to their base64. Several KB
  // long; anything from 64 characters is taken, so that a cut-off one is caught too, and the url-safe alphabet, so
  // that docker's X-Registry-Auth (base64url JSON with a registry password) is as well.
  /\bey[IJ][A-Za-z0-9+/_-]{61,}={0,2}/g,
  // A registration or remove token (registration-token, remove-token): 29 upper-case letters and digits, e.g. the
  // documented LLBF3JGZDX3P5PMEXLND6TS6FCWO6. Upper case only and whole words only, so ids and hashes stay.
  /\b(?=[0-9]*[A-Z])[A-Z0-9]{29}\b/g,
];

export const REDACTED = '[REDACTED]';

/**
 * Removes secrets from text that comes from outside (what GitHub or the network answered) before it goes into an
 * error message, and from every line RunnerHub logs (LoggingModule). Known values (the configured token, the App's private key) are removed whatever
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
