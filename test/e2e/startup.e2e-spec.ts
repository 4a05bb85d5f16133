import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const ROOT = resolve(__dirname, '../..');

/** Starts apps/runnerhub/src/main.ts as its own process, the way `npm start` does (without the build step). */
function runMain(env: Record<string, string>, { untilOutput }: { untilOutput?: RegExp } = {}) {
  const child = spawn(
    process.execPath,
    ['-r', 'ts-node/register/transpile-only', '-r', 'tsconfig-paths/register', 'apps/runnerhub/src/main.ts'],
    { cwd: ROOT, env: { PATH: process.env.PATH ?? '', TS_NODE_PROJECT: 'tsconfig.json', ...env } },
  );
  let output = '';
  const exited = new Promise<number | null>((done) => child.on('exit', (code) => done(code)));
  const signalled = new Promise<NodeJS.Signals | null>((done) => child.on('exit', (_code, signal) => done(signal)));
  const matched = new Promise<void>((done) => {
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      if (untilOutput?.test(output)) done();
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
  });
  return { child, exited, signalled, matched, output: () => output };
}

describe('starting the service', () => {
  it('refuses a bad configuration at once, naming each variable and what is wrong', async () => {
    const run = runMain({ PORT: 'abc', DATABASE_URL: 'not-a-url' });
    expect(await run.exited).toBe(78);
    expect(run.output()).toMatch(/PORT must be an integer from 0 to 65535 \(got "abc"\)/);
    expect(run.output()).toMatch(/DATABASE_URL must be a postgres:\/\/ or postgresql:\/\/ URL/);
    expect(run.output()).not.toMatch(/not-a-url/);
  });

  it('creates the embedded database on first start, becomes ready, and stops cleanly on SIGTERM', async () => {
    const dataDir = join(mkdtempSync(join(tmpdir(), 'runnerhub-start-')), 'nested', 'data');
    try {
      const run = runMain(
        { PORT: '0', RUNNERHUB_DATA_DIR: dataDir, LOG_FORMAT: 'json', NODE_ENV: 'production' },
        { untilOutput: /RunnerHub listening on port \d+/ },
      );
      await Promise.race([run.matched, run.exited.then(() => Promise.reject(new Error(run.output())))]);
      expect(existsSync(join(dataDir, 'runnerhub.sqlite'))).toBe(true);
      const port = /RunnerHub listening on port (\d+)/.exec(run.output())![1];
      const ready = await fetch(`http://127.0.0.1:${port}/health/ready`);
      expect(ready.status).toBe(200);
      // Production logs are JSON lines.
      const firstLine = run
        .output()
        .split('\n')
        .find((l) => l.trim().startsWith('{'));
      expect(() => JSON.parse(firstLine!) as unknown).not.toThrow();
      run.child.kill('SIGTERM');
      // Nest closes every module (event stream, timers, database) and then re-raises the signal, as a service should.
      expect(await run.signalled).toBe('SIGTERM');
      expect(run.output()).not.toMatch(/"level":(50|60)/);
    } finally {
      rmSync(resolve(dataDir, '../..'), { recursive: true, force: true });
    }
  });
});
