import { ChildProcess, execFile, execFileSync, spawn } from 'node:child_process';
import {
  closeSync,
  existsSync,
  mkdtempSync,
  openSync,
  readFileSync,
  readdirSync,
  rmdirSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { request } from 'node:http';
import { connect, createServer, Server, Socket } from 'node:net';
import { basename, join } from 'node:path';
import { promisify } from 'node:util';
import { waitFor } from './wait-for';
import { TEST_IMAGE } from './test-env';

const run = promisify(execFile);

/** The engine's side of TLS: its certificate and key, and the CA whose client certificates it accepts. */
export interface EngineTls {
  ca: string;
  cert: string;
  key: string;
}

export interface SecondEngineOptions {
  /** Load TEST_IMAGE from the main engine (default true); a test that only talks to the API can skip it. */
  loadTestImage?: boolean;
  /**
   * Also listen on tcp://127.0.0.1:2376 of the engine's network namespace with --tlsverify: only clients with a
   * certificate of `ca` are served. exposeTls() makes that port reachable from the test process.
   */
  tls?: EngineTls;
  /**
   * Run in the host's network namespace with a bridge of its own (created here, removed by cleanup()), instead of a
   * namespace of its own without one: its containers then reach this machine's addresses (a fake GitHub on a
   * gateway) through the bridge's address, as runners on another host reach GitHub. No iptables rules: the main
   * engine's are left alone. `cidr` is the bridge's address with its prefix, such as 172.31.1.1/24.
   */
  bridge?: { name: string; cidr: string };
  /** More images to load from the main engine (a runner stand-in). */
  images?: string[];
}

/** Where a TLS engine listens inside its own network namespace. */
const TLS_PORT = 2376;

/**
 * A second dockerd owned by one test, for what must not be done to the main engine: stopping and restarting it.
 *
 * It has its own socket, data root, exec root (so its own managed containerd), pid file, config file and cgroup
 * parent, and it runs in a network namespace of its own (`unshare --net`). The namespace matters: with
 * --bridge=none dockerd deletes any interface called docker0 at start-up, and in the host namespace that is the main
 * engine's bridge. Containers on it need NetworkMode 'none' (there is no bridge). With `bridge` it runs in the host's
 * namespace instead, with a bridge of its own and no iptables rules, so its containers reach this machine's
 * addresses. cleanup() kills and deletes everything, and also runs (SIGKILL only) if the test process exits without
 * calling it.
 */
export class SecondEngine {
  private child: ChildProcess | undefined;
  private exited: Promise<void> | undefined;
  private forwarder: { inside: ChildProcess; outside: Server; sockets: Set<Socket> } | undefined;
  private readonly onProcessExit = () => {
    this.forwarder?.inside.kill('SIGKILL');
    this.child?.kill('SIGKILL');
  };

  private constructor(
    readonly dir: string,
    private readonly tls: EngineTls | undefined,
    private readonly bridge: { name: string; cidr: string } | undefined = undefined,
  ) {}

  /** Starts the engine in a fresh directory and (unless told not to) loads the test image into it. */
  static async create(options: SecondEngineOptions = {}): Promise<SecondEngine> {
    const engine = new SecondEngine(mkdtempSync('/tmp/rh-eng-'), options.tls, options.bridge);
    writeFileSync(join(engine.dir, 'daemon.json'), '{}\n');
    process.once('exit', engine.onProcessExit);
    try {
      if (options.bridge) engine.createBridge();
      await engine.start();
      if (options.loadTestImage !== false) await engine.loadImage(TEST_IMAGE);
      for (const image of options.images ?? []) await engine.loadImage(image);
      return engine;
    } catch (error) {
      await engine.cleanup();
      throw error;
    }
  }

  get socketPath(): string {
    return join(this.dir, 'docker.sock');
  }

  /** In DOCKER_HOST form, for loadAppConfig and the docker CLI. */
  get dockerHost(): string {
    return `unix://${this.socketPath}`;
  }

  get running(): boolean {
    return this.child !== undefined && this.child.exitCode === null && this.child.signalCode === null;
  }

  /** Starts dockerd on the engine's data root (again, after stop()) and waits until it answers. */
  async start(): Promise<void> {
    if (this.running) return;
    const log = openSync(join(this.dir, 'dockerd.log'), 'a');
    try {
      // A new network namespace has its loopback down: a TLS engine needs it up to listen on 127.0.0.1. The shell
      // execs dockerd, so the child's pid is dockerd's.
      const command = this.bridge
        ? ['dockerd', ...this.daemonArgs()]
        : this.tls
          ? ['unshare', '--net', 'sh', '-c', 'ip link set lo up && exec dockerd "$@"', 'sh', ...this.daemonArgs()]
          : ['unshare', '--net', 'dockerd', ...this.daemonArgs()];
      const child = spawn(command[0], command.slice(1), { stdio: ['ignore', log, log] });
      this.child = child;
      this.exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    } finally {
      closeSync(log);
    }
    await waitFor(
      async () => {
        if (!this.running) throw new Error(`dockerd exited during start-up:\n${this.logTail()}`);
        return (await this.ping()) || undefined;
      },
      { timeoutMs: 30_000, intervalMs: 50, description: `the second engine on ${this.socketPath} to answer` },
    ).catch((error: Error) => {
      throw new Error(`${error.message}\n${this.logTail()}`);
    });
  }

  /** SIGTERM, as a service manager would, and waits for dockerd to exit (SIGKILL after 30 s). */
  async stop(): Promise<void> {
    const child = this.child;
    if (!child || !this.running) return;
    child.kill('SIGTERM');
    const stopped = await Promise.race([
      this.exited!.then(() => true),
      new Promise<boolean>((resolve) => setTimeout(() => resolve(false), 30_000).unref()),
    ]);
    if (!stopped) {
      child.kill('SIGKILL');
      await this.exited;
    }
  }

  async restart(): Promise<void> {
    await this.stop();
    await this.start();
  }

  /** Runs the docker CLI against this engine. */
  async docker(args: string[]): Promise<string> {
    const { stdout } = await run('docker', ['-H', this.dockerHost, ...args], { timeout: 60_000 });
    return stdout;
  }

  /**
   * The TLS port of the engine, reachable on 127.0.0.1 of the test process: the engine listens in its own network
   * namespace, so a forwarder there passes the bytes to a Unix socket in the engine's directory, and a TCP server
   * here passes them on. TLS goes end to end, between the client and dockerd. Returns the port here.
   */
  async exposeTls(): Promise<number> {
    if (!this.tls || !this.child?.pid) throw new Error('exposeTls() needs an engine started with tls');
    if (this.forwarder) return (this.forwarder.outside.address() as { port: number }).port;
    const relay = join(this.dir, 'tls-relay.sock');
    const script =
      "const net=require('net');net.createServer((c)=>{const u=net.connect(Number(process.argv[2]),'127.0.0.1');" +
      "c.pipe(u).pipe(c);c.on('error',()=>u.destroy());u.on('error',()=>c.destroy());}).listen(process.argv[1]);";
    const inside = spawn(
      'nsenter',
      [`--net=/proc/${this.child.pid}/ns/net`, '--', process.execPath, '-e', script, relay, String(TLS_PORT)],
      {
        stdio: 'ignore',
      },
    );
    const sockets = new Set<Socket>();
    const outside = createServer((client) => {
      const upstream = connect(relay);
      for (const socket of [client, upstream]) {
        sockets.add(socket);
        socket.once('close', () => sockets.delete(socket));
      }
      client.pipe(upstream).pipe(client);
      client.on('error', () => upstream.destroy());
      upstream.on('error', () => client.destroy());
    });
    this.forwarder = { inside, outside, sockets };
    await waitFor(() => existsSync(relay) || undefined, {
      timeoutMs: 10_000,
      intervalMs: 20,
      description: 'the TLS relay inside the engine namespace to listen',
    });
    await new Promise<void>((resolve) => outside.listen(0, '127.0.0.1', resolve));
    return (outside.address() as { port: number }).port;
  }

  /** Removes containers, stops the engine and its containerd, unmounts and deletes the directory. Never throws. */
  async cleanup(): Promise<void> {
    if (this.forwarder) {
      const { inside, outside, sockets } = this.forwarder;
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => outside.close(() => resolve()));
      inside.kill('SIGKILL');
      this.forwarder = undefined;
    }
    try {
      if (this.running) {
        const ids = (await this.docker(['ps', '-aq'])).split('\n').filter(Boolean);
        if (ids.length > 0) await this.docker(['rm', '-f', ...ids]);
      }
    } catch {
      // The engine may be the thing that failed; stopping it below still cleans up.
    }
    await this.stop().catch(() => undefined);
    this.killLeftoverContainerd();
    this.unmountAll();
    if (this.bridge) {
      try {
        execFileSync('ip', ['link', 'delete', this.bridge.name], { stdio: 'ignore', timeout: 10_000 });
      } catch {
        // Gone already.
      }
    }
    rmSync(this.dir, { recursive: true, force: true, maxRetries: 3 });
    for (const hierarchy of existsSync('/sys/fs/cgroup') ? readdirSync('/sys/fs/cgroup') : []) {
      const parent = join('/sys/fs/cgroup', hierarchy, this.cgroupParent);
      try {
        if (existsSync(parent)) rmdirSync(parent);
      } catch {
        // A cgroup still in use cannot be removed; it is empty and harmless.
      }
    }
    process.off('exit', this.onProcessExit);
  }

  private get cgroupParent(): string {
    return `runnerhub-test-${basename(this.dir)}`;
  }

  private daemonArgs(): string[] {
    return [
      '--config-file',
      join(this.dir, 'daemon.json'),
      '-H',
      this.dockerHost,
      '--data-root',
      join(this.dir, 'data'),
      '--exec-root',
      join(this.dir, 'exec'),
      '--pidfile',
      join(this.dir, 'docker.pid'),
      `--bridge=${this.bridge?.name ?? 'none'}`,
      '--iptables=false',
      '--ip-masq=false',
      '--cgroup-parent',
      this.cgroupParent,
      '--log-level',
      'warn',
      ...(this.tls
        ? [
            '-H',
            `tcp://127.0.0.1:${TLS_PORT}`,
            '--tlsverify',
            '--tlscacert',
            this.tls.ca,
            '--tlscert',
            this.tls.cert,
            '--tlskey',
            this.tls.key,
          ]
        : []),
    ];
  }

  /** The engine's own bridge, as an operator would make it for `dockerd --bridge` (a left-over one is reused). */
  private createBridge(): void {
    const { name, cidr } = this.bridge!;
    const ip = (args: string[]) => execFileSync('ip', args, { stdio: 'ignore', timeout: 10_000 });
    try {
      ip(['link', 'add', name, 'type', 'bridge']);
    } catch {
      // It exists from an earlier run that did not clean up.
    }
    ip(['addr', 'replace', cidr, 'dev', name]);
    ip(['link', 'set', name, 'up']);
  }

  private async loadImage(image: string): Promise<void> {
    const save = spawn('docker', ['save', image], { stdio: ['ignore', 'pipe', 'pipe'] });
    const load = spawn('docker', ['-H', this.dockerHost, 'load'], { stdio: ['pipe', 'ignore', 'pipe'] });
    save.stdout.pipe(load.stdin);
    const failures: string[] = [];
    save.stderr.on('data', (chunk: Buffer) => failures.push(chunk.toString()));
    load.stderr.on('data', (chunk: Buffer) => failures.push(chunk.toString()));
    const codes = await Promise.all(
      [save, load].map((child) => new Promise<number | null>((resolve) => child.once('close', resolve))),
    );
    if (codes.some((code) => code !== 0))
      throw new Error(`Loading ${image} into the second engine failed: ${failures.join('')}`);
  }

  private ping(): Promise<boolean> {
    return new Promise((resolve) => {
      const req = request({ socketPath: this.socketPath, path: '/_ping', timeout: 1_000 }, (res) => {
        res.resume();
        resolve(res.statusCode === 200);
      });
      req.once('error', () => resolve(false));
      req.once('timeout', () => req.destroy());
      req.end();
    });
  }

  /** dockerd stops its containerd on SIGTERM; after a SIGKILL that child can survive, so look for it by pid file. */
  private killLeftoverContainerd(): void {
    const pidFile = join(this.dir, 'exec', 'containerd', 'containerd.pid');
    if (!existsSync(pidFile)) return;
    const pid = Number(readFileSync(pidFile, 'utf8').trim());
    try {
      // Only when the process really is this engine's containerd, never a reused pid.
      if (pid > 0 && readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(this.dir)) process.kill(pid, 'SIGKILL');
    } catch {
      // Gone already.
    }
  }

  /** Overlay and shm mounts left under the directory by an engine that did not shut down cleanly. */
  private unmountAll(): void {
    const mounts = readFileSync('/proc/self/mountinfo', 'utf8')
      .split('\n')
      .map((line) => line.split(' ')[4])
      .filter((point): point is string => point !== undefined && point.startsWith(`${this.dir}/`))
      .sort((a, b) => b.length - a.length);
    for (const point of mounts) {
      try {
        // Lazy, so that a busy mount still goes away once released.
        execFileSync('umount', ['-l', point], { stdio: 'ignore', timeout: 10_000 });
      } catch {
        // Best effort.
      }
    }
  }

  private logTail(): string {
    try {
      return readFileSync(join(this.dir, 'dockerd.log'), 'utf8').split('\n').slice(-30).join('\n');
    } catch {
      return '(no dockerd log)';
    }
  }
}
