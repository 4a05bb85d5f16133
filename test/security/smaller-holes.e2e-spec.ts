import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { ConfigurationError } from '@app/common';
import { INestApplication } from '@nestjs/common';
import { startTestApp } from '../support/app';
import { ROLE_KEYS_SETTING } from '../support/access';
import { createTestDatabase, TestDatabase } from '../support/databases';
import { SecondEngine } from '../support/docker-second-engine';
import { ServiceProcess } from '../support/service-process';
import { makeTestCertificates } from '../support/tls-certificates';
import { waitFor } from '../support/wait-for';

type HealthBody = { status: string; info: object; error: object; details: object };

/**
 * Issue 13, attack 10, the smaller holes: a readiness answer that told strangers the engine's version and raw errors,
 * a webhook secret of any length, no TLS to a remote engine, credentials in the logs and the generated admin key left
 * in log storage. Each performed against a running service (SQLite: none of them is about what is stored).
 */
describe('smaller holes (sqlite)', () => {
  const started: INestApplication[] = [];
  const databases: TestDatabase[] = [];

  afterAll(async () => {
    for (const app of started) await app.close();
    for (const database of databases) await database.drop();
  });

  async function start(env: Record<string, string>): Promise<string> {
    const database = await createTestDatabase('sqlite');
    databases.push(database);
    const { app, baseUrl } = await startTestApp(database, { RUNNERHUB_API_KEYS: ROLE_KEYS_SETTING, ...env });
    started.push(app);
    return baseUrl;
  }

  async function readiness(baseUrl: string): Promise<{ status: number; body: HealthBody; text: string }> {
    const response = await fetch(`${baseUrl}/health/ready`);
    const text = await response.text();
    return { status: response.status, body: JSON.parse(text) as HealthBody, text };
  }

  it('attack 10: readiness names the part that is down with its status only: no engine version, no raw error', async () => {
    const healthy = await readiness(await start({}));
    expect(healthy.status).toBe(200);
    const up = { database: { status: 'up' }, docker: { status: 'up' } };
    expect(healthy.body).toEqual({ status: 'ok', info: up, error: {}, details: up });

    // The socket path is what a raw error would carry: "connect ENOENT /tmp/...sock".
    const socket = `/tmp/runnerhub-no-engine-${randomBytes(4).toString('hex')}.sock`;
    const away = await readiness(await start({ DOCKER_HOST: `unix://${socket}` }));
    expect(away.status).toBe(503);
    expect(away.body).toEqual({
      status: 'error',
      info: { database: { status: 'up' } },
      error: { docker: { status: 'down' } },
      details: { database: { status: 'up' }, docker: { status: 'down' } },
    });
    for (const leak of [socket, 'ENOENT', 'not reachable', 'version']) {
      expect([leak, away.text.includes(leak)]).toEqual([leak, false]);
    }
  });

  it('attack 10: a webhook secret shorter than 20 characters is refused at start, without echoing it', async () => {
    const secret = 'nineteen-characters';
    expect(secret).toHaveLength(19);
    // startTestApp reads the configuration as main.ts does, which prints the refusal and exits with 78.
    const refusal = await start({ GITHUB_WEBHOOK_SECRET: secret }).then(
      () => null,
      (error: unknown) => error,
    );
    expect(refusal).toBeInstanceOf(ConfigurationError);
    const message = (refusal as ConfigurationError).message;
    expect(message).toMatch(/GITHUB_WEBHOOK_SECRET must be at least 20 characters/);
    expect(message).not.toContain(secret);
    // One more character is a secret RunnerHub takes.
    expect((await readiness(await start({ GITHUB_WEBHOOK_SECRET: `${secret}x` }))).status).toBe(200);
  });

  it('attack 10: RunnerHub speaks TLS to a remote engine (DOCKER_TLS_VERIFY), which refuses a client without a certificate', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'runnerhub-tls-'));
    let engine: SecondEngine | undefined;
    try {
      const certificates = makeTestCertificates(dir);
      engine = await SecondEngine.create({ tls: certificates.engine, loadTestImage: false });
      const port = await engine.exposeTls();

      const baseUrl = await start({
        DOCKER_HOST: `tcp://127.0.0.1:${port}`,
        DOCKER_TLS_VERIFY: '1',
        DOCKER_CERT_PATH: certificates.clientCertPath,
      });
      const ready = await readiness(baseUrl);
      expect([ready.status, ready.body.details]).toEqual([
        200,
        { database: { status: 'up' }, docker: { status: 'up' } },
      ]);

      // The same engine, asked without a client certificate (the CA is trusted, so only the certificate is missing).
      const withoutCertificate = await ping(port, { ca: readFileSync(certificates.engine.ca) });
      expect(withoutCertificate).toMatchObject({ ok: false });
      // And with one, as RunnerHub asks: the refusal above is the missing certificate, not the relay.
      const withCertificate = await ping(port, {
        ca: readFileSync(certificates.engine.ca),
        cert: readFileSync(join(certificates.clientCertPath, 'cert.pem')),
        key: readFileSync(join(certificates.clientCertPath, 'key.pem')),
      });
      expect(withCertificate).toEqual({ ok: true, status: 200 });
    } finally {
      await engine?.cleanup();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('attack 10: without a terminal, the generated admin key goes to a 0600 file, never to stdout; credentials in a logged URL are redacted', async () => {
    const dataDir = join(mkdtempSync(join(tmpdir(), 'runnerhub-key-')), 'data');
    // Stdout is a pipe here, as under a service manager or a container runtime feeding log storage.
    const service = await ServiceProcess.start({ RUNNERHUB_DATA_DIR: dataDir, LOG_LEVEL: 'info' });
    try {
      const file = join(dataDir, 'admin-api-key');
      const key = readFileSync(file, 'utf8').trim();
      expect(key).toMatch(/^[A-Za-z0-9_-]{43}$/);
      expect(statSync(file).mode & 0o777).toBe(0o600);
      expect(
        (await fetch(`${service.baseUrl}/api/audit`, { headers: { authorization: `Bearer ${key}` } })).status,
      ).toBe(200);
      expect(service.output.join('')).toContain(file);

      // A registration token and a JIT configuration in a request URL: pino-http logs the URL of every request.
      const token = 'AABF3JGZDX3P5PMEXLND6TS6FCWO6';
      const jit = Buffer.from(JSON.stringify({ '.runner': 'x'.repeat(120) })).toString('base64');
      await fetch(`${service.baseUrl}/api/jobs?registration=${token}&jit=${jit}`);
      const logged = await waitFor(
        () => service.output.join('').includes('/api/jobs?registration=') && service.output.join(''),
        { timeoutMs: 10_000, description: 'the request to be logged' },
      );
      expect(logged).toContain('/api/jobs?registration=[REDACTED]&jit=[REDACTED]');
      expect(logged).not.toContain(token);
      expect(logged).not.toContain(jit.slice(0, 40));
      expect(logged).not.toContain(key);
    } finally {
      await service.kill();
      rmSync(resolve(dataDir, '..'), { recursive: true, force: true });
    }
  });
});

/** GET /_ping over TLS with these client credentials. */
function ping(
  port: number,
  tls: { ca: Buffer; cert?: Buffer; key?: Buffer },
): Promise<{ ok: true; status: number } | { ok: false; error: string }> {
  return new Promise((done) => {
    const call = request({ host: '127.0.0.1', port, path: '/_ping', timeout: 5_000, ...tls }, (response) => {
      response.resume();
      done(response.statusCode === 200 ? { ok: true, status: 200 } : { ok: false, error: `${response.statusCode}` });
    });
    call.once('error', (error) => done({ ok: false, error: error.message }));
    call.once('timeout', () => call.destroy(new Error('timeout')));
    call.end();
  });
}
