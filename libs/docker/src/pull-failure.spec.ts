import { classifyPullFailure, engineTextOf, redact } from './pull-failure';

/**
 * Texts the Docker 20.10 engine (API 1.41) really answered to pulls from distribution 2.8 registries on this
 * machine, as dockerode's error message (HTTP errors) or as the stream's `error` line (HTTP 200).
 */
const RECORDED = {
  missingTag:
    '(HTTP code 404) unexpected - manifest for 127.0.0.1:37901/explore/busybox:nope not found: manifest unknown: ' +
    'manifest unknown ',
  missingRepository:
    '(HTTP code 404) unexpected - manifest for 127.0.0.1:37901/explore/nothing:1 not found: manifest unknown: ' +
    'manifest unknown ',
  noCredentials:
    '(HTTP code 500) server error - Head "http://127.0.0.1:34877/v2/explore/busybox/manifests/1": no basic auth credentials',
  wrongPassword: '(HTTP code 500) server error - unauthorized: authentication required',
  nothingListens:
    '(HTTP code 500) server error - Get "http://127.0.0.1:44349/v2/": dial tcp 127.0.0.1:44349: connect: connection refused',
  unknownHost:
    '(HTTP code 500) server error - Get "https://no-such-host.invalid/v2/": dial tcp: lookup no-such-host.invalid on ' +
    '10.255.255.53:53: no such host',
  dockerHubOffline:
    'Get "https://registry-1.docker.io/v2/": dial tcp: lookup registry-1.docker.io on 10.255.255.53:53: no such host',
  badCertificate:
    '(HTTP code 500) server error - Get "https://10.255.255.1:5000/v2/": x509: cannot validate certificate for ' +
    "10.255.255.1 because it doesn't contain any IP SANs",
  /** Stream line (HTTP 200) when the manifest exists but a layer blob is gone from the registry's storage. */
  missingBlobInStream: 'unknown blob',
};

/** Well-known texts of other registries, not recordable here (no remote registry is reachable from this machine). */
const KNOWN = {
  dockerHubDenied:
    "pull access denied for someone/private, repository does not exist or may require 'docker login': denied: " +
    'requested access to the resource is denied',
  ghcrDenied: 'Head "https://ghcr.io/v2/org/private/manifests/1": denied',
  ghcrUnauthorized: 'Head "https://ghcr.io/v2/org/private/manifests/1": unauthorized',
  loginRefused: 'Get "https://registry.example/v2/": unauthorized: incorrect username or password',
  ioTimeout: 'Get "https://10.9.9.9:5000/v2/": dial tcp 10.9.9.9:5000: i/o timeout',
  handshake: 'Get "https://registry.example/v2/": net/http: TLS handshake timeout',
  clientTimeout:
    'Get "https://registry.example/v2/": net/http: request canceled while waiting for connection ' +
    '(Client.Timeout exceeded while awaiting headers)',
  nameUnknown: 'name unknown: repository name not known to registry',
  disk: 'failed to register layer: Error processing tar file(exit status 1): write /x: no space left on device',
};

describe('classifyPullFailure on recorded engine texts', () => {
  it.each([
    ['a missing tag', RECORDED.missingTag, 'not-found'],
    ['a missing repository', RECORDED.missingRepository, 'not-found'],
    ['no credentials for an htpasswd registry', RECORDED.noCredentials, 'unauthorized'],
    ['a wrong password', RECORDED.wrongPassword, 'unauthorized'],
    ['a port nothing listens on', RECORDED.nothingListens, 'unreachable'],
    ['an unknown host', RECORDED.unknownHost, 'unreachable'],
    ['Docker Hub without DNS', RECORDED.dockerHubOffline, 'unreachable'],
    ['a certificate the engine refuses', RECORDED.badCertificate, 'failed'],
    ['a layer missing from the registry (stream error)', RECORDED.missingBlobInStream, 'failed'],
  ] as const)('%s is %s', (_name, text, reason) => {
    expect(classifyPullFailure(engineTextOf(text))).toBe(reason);
  });
});

describe('classifyPullFailure on known texts of other registries', () => {
  it.each([
    [
      "Docker Hub's pull access denied (credentials fix it when the name is right)",
      KNOWN.dockerHubDenied,
      'unauthorized',
    ],
    ['ghcr.io denied', KNOWN.ghcrDenied, 'unauthorized'],
    ['ghcr.io unauthorized', KNOWN.ghcrUnauthorized, 'unauthorized'],
    ['a refused login', KNOWN.loginRefused, 'unauthorized'],
    ['an i/o timeout', KNOWN.ioTimeout, 'unreachable'],
    ['a TLS handshake timeout', KNOWN.handshake, 'unreachable'],
    ['a client timeout', KNOWN.clientTimeout, 'unreachable'],
    ['an unknown repository name', KNOWN.nameUnknown, 'not-found'],
    ['a full disk', KNOWN.disk, 'failed'],
  ] as const)('%s is %s', (_name, text, reason) => {
    expect(classifyPullFailure(text)).toBe(reason);
  });
});

describe('engineTextOf', () => {
  it("keeps the engine's words and drops docker-modem's prefix", () => {
    expect(engineTextOf(RECORDED.wrongPassword)).toBe('unauthorized: authentication required');
    expect(engineTextOf(RECORDED.missingTag)).toBe(
      'manifest for 127.0.0.1:37901/explore/busybox:nope not found: manifest unknown: manifest unknown',
    );
    expect(engineTextOf('unknown blob')).toBe('unknown blob');
  });
});

describe('redact', () => {
  it('takes every occurrence of a secret out, and leaves texts without one alone', () => {
    expect(redact('bad pass s3cret for s3cret', ['s3cret'])).toBe('bad pass *** for ***');
    expect(redact('unauthorized: authentication required', ['s3cret'])).toBe('unauthorized: authentication required');
    expect(redact('short a', ['a'])).toBe('short a');
  });
});
