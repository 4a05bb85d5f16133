import { API_KEYS } from '../support/api-suite';
import { createTestDatabase, TestDatabase } from '../support/databases';
import { ServiceProcess } from '../support/service-process';

describe('SQLite serves one RunnerHub process', () => {
  let database: TestDatabase;
  let first: ServiceProcess | undefined;
  let second: ServiceProcess | undefined;
  let next: ServiceProcess | undefined;

  beforeAll(async () => {
    database = await createTestDatabase('sqlite');
  });

  afterAll(async () => {
    await first?.stop();
    await second?.stop();
    await next?.stop();
    await database?.drop();
  }, 60_000);

  const env = () => ({ ...database.env, RUNNERHUB_API_KEYS: `${API_KEYS.operator}:operator` });

  it('refuses a second process on the same file with a clear message, and starts again after the first was killed', async () => {
    first = await ServiceProcess.start(env());
    const file = database.settings.kind === 'sqlite' ? database.settings.file : '';

    // ServiceProcess.start fails with the process's exit code and output when it exits instead of becoming ready.
    const message = await ServiceProcess.start(env()).then(
      (started) => {
        second = started;
        return 'started';
      },
      (error: Error) => error.message,
    );
    expect(message).toContain('the service exited with 78');
    expect(message).toMatch(
      new RegExp(
        `RunnerHub cannot start\\. Another RunnerHub process \\(pid \\d+\\) uses ${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: ` +
          'SQLite serves one process; use PostgreSQL \\(DATABASE_URL\\) to run replicas',
      ),
    );
    // The first is untouched by the attempt.
    expect((await fetch(`${first.baseUrl}/health/ready`)).status).toBe(200);

    // Killed the hard way, it leaves its lock file behind, but not the lock: the next start is not blocked.
    await first.kill();
    next = await ServiceProcess.start(env());
    expect((await fetch(`${next.baseUrl}/health/ready`)).status).toBe(200);
  }, 120_000);
});
