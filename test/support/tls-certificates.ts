import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { EngineTls } from './docker-second-engine';

export interface TestCertificates {
  /** For dockerd: its certificate (IP SAN 127.0.0.1), its key, and the CA its clients must be signed by. */
  engine: EngineTls;
  /** A DOCKER_CERT_PATH as the docker CLI reads it: ca.pem, cert.pem, key.pem (a client certificate of the CA). */
  clientCertPath: string;
}

/**
 * A throw-away CA, an engine certificate for 127.0.0.1 and a client certificate, made with openssl in `dir`, as
 * Docker's "Protect the Docker daemon socket" guide makes them (P-256 keys, which are quicker to make than RSA ones).
 */
export function makeTestCertificates(dir: string): TestCertificates {
  mkdirSync(dir, { recursive: true });
  const clientCertPath = join(dir, 'client');
  mkdirSync(clientCertPath);
  const at = (name: string) => join(dir, name);
  const openssl = (args: string[]) => execFileSync('openssl', args, { stdio: 'pipe', timeout: 30_000 });
  const newKey = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];

  openssl([
    'req',
    '-x509',
    ...newKey,
    '-keyout',
    at('ca-key.pem'),
    '-out',
    at('ca.pem'),
    '-days',
    '1',
    '-subj',
    '/CN=runnerhub-test-ca',
  ]);
  const sign = (name: string, subject: string, extensions: string, certificate: string, key: string) => {
    writeFileSync(at(`${name}.ext`), extensions);
    openssl(['req', ...newKey, '-keyout', key, '-out', at(`${name}.csr`), '-subj', subject]);
    openssl([
      'x509',
      '-req',
      '-in',
      at(`${name}.csr`),
      '-CA',
      at('ca.pem'),
      '-CAkey',
      at('ca-key.pem'),
      '-CAcreateserial',
      '-out',
      certificate,
      '-days',
      '1',
      '-extfile',
      at(`${name}.ext`),
    ]);
  };
  sign(
    'server',
    '/CN=127.0.0.1',
    'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n',
    at('server-cert.pem'),
    at('server-key.pem'),
  );
  sign(
    'client',
    '/CN=runnerhub',
    'extendedKeyUsage=clientAuth\n',
    join(clientCertPath, 'cert.pem'),
    join(clientCertPath, 'key.pem'),
  );
  copyFileSync(at('ca.pem'), join(clientCertPath, 'ca.pem'));
  return { engine: { ca: at('ca.pem'), cert: at('server-cert.pem'), key: at('server-key.pem') }, clientCertPath };
}
