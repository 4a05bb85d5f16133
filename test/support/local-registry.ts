import { ChildProcess, execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { waitFor } from './wait-for';

const run = promisify(execFile);

/** Debian's distribution 2.8 (`bash scripts/registry-up.sh` installs it with htpasswd). */
export const REGISTRY_BINARY = process.env.REGISTRY_BINARY ?? '/usr/bin/docker-registry';

export interface LocalRegistryOptions {
  /** Basic auth through an htpasswd (bcrypt) file; without it the registry lets anyone pull and push. */
  auth?: { username: string; password: string };
}

/** One request the registry logged, from its access log (combined log format). */
export interface RegistryRequest {
  method: string;
  path: string;
  status: number;
  /** `docker/20.10...` for the engine; `runnerhub-test-support` for manifestDigest() here. */
  userAgent: string;
}

/** The User-Agent of this file's own requests, so that a test can tell them from the engine's. */
export const SUPPORT_USER_AGENT = 'runnerhub-test-support';

export interface LocalRegistry {
  /** `127.0.0.1:PORT`, as it starts an image reference. */
  readonly host: string;
  /**
   * Tags the local image as `host/repoTag`, pushes it with the docker CLI (logging in with a throw-away DOCKER_CONFIG
   * when the registry has auth, so the machine's own config is untouched), removes that tag again so that a later
   * pull really pulls, and returns the reference `host/repoTag`.
   */
  push(localImage: string, repoTag: string): Promise<string>;
  /** The registry's digest of a pushed manifest (`sha256:...`), asked over HTTP as a client would. */
  manifestDigest(repoTag: string): Promise<string>;
  /** Every request the registry has logged so far, oldest first. */
  requests(): RegistryRequest[];
  /** The registry's output so far (stdout and stderr), for a failure message. */
  output(): string;
  stop(): Promise<void>;
}

/**
 * Starts a registry of its own: a config, storage and (optionally) an htpasswd file in a temp dir, listening on a free
 * loopback port. The engine treats 127.0.0.0/8 registries as insecure-allowed, so plain HTTP works. Resolves once
 * `GET /v2/` answers (200, or 401 with auth). Always stop() it, in afterAll.
 */
export async function startLocalRegistry(options: LocalRegistryOptions = {}): Promise<LocalRegistry> {
  const dir = await mkdtemp(join(tmpdir(), 'runnerhub-registry-'));
  try {
    if (options.auth) {
      const file = join(dir, 'htpasswd');
      await run('htpasswd', ['-B', '-b', '-c', file, options.auth.username, options.auth.password], {
        timeout: 15_000,
      }).catch((error: NodeJS.ErrnoException & { stderr?: string }) => {
        // Not error.message: it holds the command line, password included.
        const why = error.code === 'ENOENT' ? 'not installed' : (error.stderr ?? String(error.code)).trim();
        throw new Error(`htpasswd failed (${why}): run \`bash scripts/registry-up.sh\` first`);
      });
    }
    // Another process can take the port between our probe and the registry's bind: try a fresh one then.
    let lastError: unknown;
    for (let attempt = 0; attempt < 3; attempt += 1) {
      try {
        return await launch(dir, await freePort(), options);
      } catch (error) {
        lastError = error;
      }
    }
    throw lastError;
  } catch (error) {
    await rm(dir, { recursive: true, force: true });
    throw error;
  }
}

/** A loopback port nothing listens on right now (bound to port 0, then released). */
export async function freePort(): Promise<number> {
  return new Promise<number>((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

async function launch(dir: string, port: number, options: LocalRegistryOptions): Promise<LocalRegistry> {
  const host = `127.0.0.1:${port}`;
  // JSON is YAML: the registry reads this as its config.yml.
  const config = {
    version: 0.1,
    log: { level: 'info', formatter: 'text', accesslog: { disabled: false } },
    storage: { filesystem: { rootdirectory: join(dir, 'data') }, delete: { enabled: true } },
    http: { addr: host, secret: randomBytes(16).toString('hex') },
    ...(options.auth ? { auth: { htpasswd: { realm: 'runnerhub-test', path: join(dir, 'htpasswd') } } } : {}),
  };
  const configFile = join(dir, `config-${port}.yml`);
  await writeFile(configFile, JSON.stringify(config, null, 2));

  const child = spawn(REGISTRY_BINARY, ['serve', configFile], { stdio: ['ignore', 'pipe', 'pipe'] });
  const chunks: string[] = [];
  // Read both pipes all the time: a full pipe would stall the registry in the middle of a pull.
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => chunks.push(chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => chunks.push(chunk));
  let spawnError: Error | undefined;
  const exited = new Promise<void>((resolve) => {
    child.once('exit', () => resolve());
    child.once('error', (error) => {
      spawnError = error;
      resolve();
    });
  });
  const output = () => chunks.join('');

  try {
    // The probe stops on an early exit too (a port taken in the meantime, a bad config): no point waiting it out.
    const outcome = await waitFor(
      async () => {
        if (spawnError || child.exitCode !== null || child.signalCode !== null) return 'exited';
        const response = await fetch(`http://${host}/v2/`, {
          headers: { 'User-Agent': SUPPORT_USER_AGENT },
          signal: AbortSignal.timeout(1_000),
        });
        return response.status === (options.auth ? 401 : 200) && 'answers';
      },
      { timeoutMs: 10_000, description: `the registry at ${host} to answer GET /v2/` },
    );
    if (outcome === 'exited') {
      throw new Error(
        `the registry at ${host} exited (${child.exitCode ?? child.signalCode}): ${output().slice(-2000)}`,
      );
    }
  } catch (error) {
    await stopChild(child, exited);
    if (spawnError) throw new Error(`${spawnError.message}: run \`bash scripts/registry-up.sh\` first`);
    throw error;
  }

  const basic = options.auth
    ? `Basic ${Buffer.from(`${options.auth.username}:${options.auth.password}`).toString('base64')}`
    : undefined;

  return {
    host,
    async push(localImage, repoTag) {
      const ref = `${host}/${repoTag}`;
      const dockerConfig = options.auth ? await mkdtemp(join(tmpdir(), 'runnerhub-docker-config-')) : undefined;
      const cli = (args: string[], input?: string) =>
        new Promise<string>((resolve, reject) => {
          const env = { ...process.env, ...(dockerConfig ? { DOCKER_CONFIG: dockerConfig } : {}) };
          const proc = execFile('docker', args, { env, timeout: 120_000 }, (error, stdout, stderr) =>
            error ? reject(new Error(`docker ${args[0]} failed: ${stderr || error.message}`)) : resolve(stdout),
          );
          if (input !== undefined) proc.stdin?.end(input);
        });
      try {
        await cli(['tag', localImage, ref]);
        if (options.auth) {
          await cli(['login', host, '--username', options.auth.username, '--password-stdin'], options.auth.password);
        }
        await cli(['push', ref]);
      } finally {
        // Untag only: the local image itself stays; a later pull of ref must go to the registry.
        await cli(['rmi', ref]).catch(() => undefined);
        if (dockerConfig) await rm(dockerConfig, { recursive: true, force: true });
      }
      return ref;
    },
    async manifestDigest(repoTag) {
      const at = repoTag.lastIndexOf(':');
      const [repository, tag] =
        at > repoTag.lastIndexOf('/') ? [repoTag.slice(0, at), repoTag.slice(at + 1)] : [repoTag, 'latest'];
      const response = await fetch(`http://${host}/v2/${repository}/manifests/${tag}`, {
        method: 'HEAD',
        headers: {
          Accept: [
            'application/vnd.docker.distribution.manifest.v2+json',
            'application/vnd.docker.distribution.manifest.list.v2+json',
            'application/vnd.oci.image.manifest.v1+json',
            'application/vnd.oci.image.index.v1+json',
          ].join(', '),
          'User-Agent': SUPPORT_USER_AGENT,
          ...(basic ? { Authorization: basic } : {}),
        },
      });
      const digest = response.headers.get('docker-content-digest');
      if (!response.ok || !digest) throw new Error(`no manifest ${repoTag} at ${host} (HTTP ${response.status})`);
      return digest;
    },
    requests: () => parseAccessLog(output()),
    output,
    stop: async () => {
      await stopChild(child, exited);
      await rm(dir, { recursive: true, force: true });
    },
  };
}

// 127.0.0.1 - - [01/Dec/2026:16:10:00 +0000] "GET /v2/x/y/manifests/1 HTTP/1.1" 200 527 "" "docker/20.10..."
const ACCESS_LINE = /"([A-Z]+) (\/\S*) HTTP\/[\d.]+" (\d{3}) \S+ "[^"]*" "(.*)"\s*$/;

function parseAccessLog(output: string): RegistryRequest[] {
  const requests: RegistryRequest[] = [];
  for (const line of output.split('\n')) {
    const match = ACCESS_LINE.exec(line);
    if (match) requests.push({ method: match[1], path: match[2], status: Number(match[3]), userAgent: match[4] });
  }
  return requests;
}

async function stopChild(child: ChildProcess, exited: Promise<void>): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return;
  child.kill('SIGTERM');
  const killer = setTimeout(() => child.kill('SIGKILL'), 5_000);
  await exited;
  clearTimeout(killer);
}
