import { ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { SqliteInUseError, SqliteProcessLock } from './sqlite-process.lock';

const ROOT = resolve(__dirname, '../../../..');

/** Another process that takes the lock on `file` and keeps it until killed; resolves once it holds it. */
function holdInAnotherProcess(file: string): Promise<ChildProcess> {
  const script = `
    const { SqliteProcessLock } = require('./libs/persistence/src/leadership/sqlite-process.lock');
    new SqliteProcessLock().acquire(process.argv[1]);
    process.stdout.write('held\\n');
    setInterval(() => undefined, 60_000);`;
  const child = spawn(process.execPath, ['-r', 'ts-node/register/transpile-only', '-e', script, file], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return new Promise((done, fail) => {
    let errors = '';
    child.stderr.on('data', (chunk: Buffer) => (errors += chunk.toString()));
    child.stdout.on('data', (chunk: Buffer) => chunk.toString().includes('held') && done(child));
    child.once('exit', (code) => fail(new Error(`the holder exited with ${code}: ${errors}`)));
  });
}

describe(SqliteProcessLock.name, () => {
  let dir: string;
  let file: string;
  const locks: SqliteProcessLock[] = [];

  function lock(): SqliteProcessLock {
    const made = new SqliteProcessLock();
    locks.push(made);
    return made;
  }

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'runnerhub-lock-'));
    file = join(dir, 'runnerhub.sqlite');
  });

  afterEach(() => {
    for (const made of locks.splice(0)) made.release();
    rmSync(dir, { recursive: true, force: true });
  });

  it('refuses a second holder of the same database, and lets it in once the first released', () => {
    lock().acquire(file);
    const second = lock();

    expect(() => second.acquire(file)).toThrow(SqliteInUseError);
    expect(() => second.acquire(file)).toThrow(
      `Another RunnerHub process (pid ${process.pid}) uses ${file}: SQLite serves one process; use PostgreSQL (DATABASE_URL) to run replicas`,
    );

    locks[0].release();
    expect(() => second.acquire(file)).not.toThrow();
  });

  it('names a live holder in another process, and is not blocked by it once it was killed with SIGKILL', async () => {
    const holder = await holdInAnotherProcess(file);
    try {
      expect(() => lock().acquire(file)).toThrow(`Another RunnerHub process (pid ${holder.pid}) uses ${file}`);
    } finally {
      const exited = new Promise((done) => holder.once('exit', done));
      holder.kill('SIGKILL');
      await exited;
    }
    // No cleanup, no waiting: the kernel freed the dead process's lock.
    expect(() => lock().acquire(file)).not.toThrow();
  }, 30_000);
});
