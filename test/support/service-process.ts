import { ChildProcess, spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { resolve } from 'node:path';
import { waitFor } from './wait-for';

const ROOT = resolve(__dirname, '../..');

/** A port nobody listens on right now. */
export function freePort(): Promise<number> {
  return new Promise((done, fail) => {
    const server = createServer();
    server.once('error', fail);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => done(port));
    });
  });
}

/**
 * RunnerHub in a process of its own, started from its sources as main.ts starts it, so that a drill can kill it
 * the hard way (SIGKILL: no shutdown hooks, no last writes) and start it again on the same database.
 */
export class ServiceProcess {
  private child: ChildProcess | null = null;
  readonly output: string[] = [];

  private constructor(
    private readonly env: Record<string, string>,
    readonly port: number,
  ) {}

  static async start(env: Record<string, string>): Promise<ServiceProcess> {
    const service = new ServiceProcess(env, await freePort());
    await service.boot();
    return service;
  }

  get baseUrl(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** Kills the process without warning and waits until it is gone. */
  async kill(): Promise<void> {
    const child = this.child;
    if (!child || hasExited(child)) return;
    const exited = new Promise((done) => child.once('exit', done));
    child.kill('SIGKILL');
    await exited;
    this.child = null;
  }

  async restart(): Promise<void> {
    await this.kill();
    await this.boot();
  }

  /** A graceful stop, as a service manager does it. */
  async stop(): Promise<void> {
    const child = this.child;
    if (!child || hasExited(child)) return;
    const exited = new Promise((done) => child.once('exit', done));
    child.kill('SIGTERM');
    // Fifteen seconds for the shutdown hooks, then the hard way; the timer goes with the stop, so Jest can exit.
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([exited, new Promise((done) => (timer = setTimeout(done, 15_000)))]);
    clearTimeout(timer);
    await this.kill();
  }

  private async boot(): Promise<void> {
    const child = spawn(
      process.execPath,
      ['-r', 'ts-node/register/transpile-only', '-r', 'tsconfig-paths/register', 'apps/runnerhub/src/main.ts'],
      {
        cwd: ROOT,
        env: {
          ...process.env,
          NODE_ENV: 'test',
          // Tests reach no registry but the local one they start themselves.
          RUNNER_IMAGE_PREPULL: 'false',
          LOG_LEVEL: 'warn',
          LOG_FORMAT: 'json',
          ...this.env,
          PORT: String(this.port),
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    this.child = child;
    const keep = (chunk: Buffer) => {
      this.output.push(chunk.toString());
      if (this.output.length > 500) this.output.shift();
    };
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
    await waitFor(
      async () => {
        if (child.exitCode !== null)
          throw new Error(`the service exited with ${child.exitCode}: ${this.output.join('')}`);
        const response = await fetch(`${this.baseUrl}/health/ready`).catch(() => null);
        return response?.status === 200;
      },
      { timeoutMs: 60_000, intervalMs: 200, description: 'the service process to be ready' },
    );
  }
}

/** Ended by itself (an exit code) or by a signal (then the exit code stays null). */
function hasExited(child: ChildProcess): boolean {
  return child.exitCode !== null || child.signalCode !== null;
}
