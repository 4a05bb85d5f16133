import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigurationError } from '@app/common';
import { createDockerClient } from './docker-client.factory';

/** What docker-modem will dial with, read back from the client. */
function modemOf(client: ReturnType<typeof createDockerClient>) {
  return client.modem as unknown as { protocol: string; host?: string; ca?: Buffer; cert?: Buffer; key?: Buffer };
}

describe(createDockerClient.name, () => {
  let certPath: string;

  beforeEach(() => {
    certPath = mkdtempSync(join(tmpdir(), 'runnerhub-certs-'));
  });

  afterEach(() => rmSync(certPath, { recursive: true, force: true }));

  it('speaks https with the CA, client certificate and key of DOCKER_CERT_PATH', () => {
    for (const file of ['ca.pem', 'cert.pem', 'key.pem']) writeFileSync(join(certPath, file), `${file} content`);
    const modem = modemOf(
      createDockerClient({ kind: 'tcp', protocol: 'https', host: '10.0.0.5', port: 2376, tls: { certPath } }),
    );
    expect(modem.protocol).toBe('https');
    expect([modem.ca?.toString(), modem.cert?.toString(), modem.key?.toString()]).toEqual([
      'ca.pem content',
      'cert.pem content',
      'key.pem content',
    ]);
  });

  it('refuses to start without them, naming every file missing and where it was looked for', () => {
    writeFileSync(join(certPath, 'ca.pem'), 'ca');
    const create = () =>
      createDockerClient({ kind: 'tcp', protocol: 'https', host: '10.0.0.5', port: 2376, tls: { certPath } });
    expect(create).toThrow(ConfigurationError);
    expect(create).toThrow(
      new RegExp(
        `DOCKER_TLS_VERIFY needs cert\\.pem in DOCKER_CERT_PATH, but ${join(certPath, 'cert.pem')} does not exist`,
      ),
    );
    expect(create).toThrow(/needs key\.pem/);
    expect(create).not.toThrow(/needs ca\.pem/);
  });

  it('takes no certificate from the environment when the configuration names no TLS', () => {
    const saved = { host: process.env.DOCKER_HOST, certs: process.env.DOCKER_CERT_PATH };
    const pem = '-----BEGIN CERTIFICATE-----\nZnJvbSB0aGUgZW52aXJvbm1lbnQ=\n-----END CERTIFICATE-----\n';
    for (const file of ['ca.pem', 'cert.pem', 'key.pem']) writeFileSync(join(certPath, file), pem);
    process.env.DOCKER_HOST = 'tcp://10.0.0.5:2375';
    process.env.DOCKER_CERT_PATH = certPath;
    try {
      const modem = modemOf(createDockerClient({ kind: 'tcp', protocol: 'http', host: '10.0.0.6', port: 2375 }));
      expect({ protocol: modem.protocol, host: modem.host, ca: modem.ca, cert: modem.cert, key: modem.key }).toEqual({
        protocol: 'http',
        host: '10.0.0.6',
        ca: undefined,
        cert: undefined,
        key: undefined,
      });
    } finally {
      restore('DOCKER_HOST', saved.host);
      restore('DOCKER_CERT_PATH', saved.certs);
    }
  });
});

function restore(name: string, value: string | undefined): void {
  if (value === undefined) delete process.env[name];
  else process.env[name] = value;
}
