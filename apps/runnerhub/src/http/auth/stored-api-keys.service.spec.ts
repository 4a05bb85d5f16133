import {
  chmodSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadAppConfig } from '@app/common';
import { ApiKeyEntity, ApiKeyRepository, NewApiKey } from '@app/persistence';
import { Logger } from '@nestjs/common';
import { hashApiKey } from './api-key.crypto';
import { ADMIN_KEY_FILE, KeyTerminal, StoredApiKeys } from './stored-api-keys.service';

/** The repository's contract, in memory. */
class MemoryApiKeys {
  readonly rows: ApiKeyEntity[] = [];
  all() {
    return Promise.resolve([...this.rows]);
  }
  insert(key: NewApiKey) {
    this.rows.push({ ...key, createdAt: new Date() });
    return Promise.resolve();
  }
}

/** What was written to a terminal, or to a pipe when `isTTY` is false. */
class CapturedOutput implements KeyTerminal {
  readonly lines: string[] = [];
  constructor(readonly isTTY: boolean) {}
  write(text: string) {
    this.lines.push(text);
    return true;
  }
}

const BANNER = /will not be shown again.*: (\S+)\n$/;

describe(StoredApiKeys.name, () => {
  let warnings: jest.SpyInstance;
  let root: string;
  let dataDir: string;
  let repository: MemoryApiKeys;
  let sut: StoredApiKeys;

  beforeEach(() => {
    warnings = jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
    root = mkdtempSync(join(tmpdir(), 'runnerhub-keys-'));
    dataDir = join(root, 'nested', 'data');
    repository = new MemoryApiKeys();
    sut = new StoredApiKeys(repository as unknown as ApiKeyRepository, loadAppConfig({ RUNNERHUB_DATA_DIR: dataDir }));
  });

  afterEach(() => {
    warnings.mockRestore();
    rmSync(root, { recursive: true, force: true });
  });

  const logged = () => warnings.mock.calls.flat().join('\n');

  it('on a terminal: generates one admin key, stores only its hash, prints the key once and writes no file', async () => {
    const terminal = new CapturedOutput(true);
    const keys = await sut.loadOrGenerate(terminal);

    expect(terminal.lines).toHaveLength(1);
    const key = BANNER.exec(terminal.lines[0])![1];
    const hash = hashApiKey(key);
    expect(keys).toEqual([{ name: `admin-${hash.toString('hex').slice(0, 8)}`, role: 'admin', hash }]);
    expect(repository.rows).toEqual([
      { name: keys[0].name, role: 'admin', keyHash: hash.toString('hex'), createdAt: expect.any(Date) },
    ]);
    expect(JSON.stringify(repository.rows)).not.toContain(key);
    expect(logged()).not.toContain(key);
    expect(() => statSync(join(dataDir, ADMIN_KEY_FILE))).toThrow();
  });

  it('without a terminal: writes the key to RUNNERHUB_DATA_DIR/admin-api-key, mode 0600, and logs only its path', async () => {
    const pipe = new CapturedOutput(false);
    const keys = await sut.loadOrGenerate(pipe);

    const file = join(dataDir, ADMIN_KEY_FILE);
    const key = readFileSync(file, 'utf8').trim();
    expect(hashApiKey(key)).toEqual(keys[0].hash);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(pipe.lines).toEqual([]);
    expect(logged()).toContain(file);
    expect(logged()).toContain(keys[0].name);
    expect(logged()).not.toContain(key);
    // No temporary file left behind.
    expect(readdirSync(dataDir)).toEqual([ADMIN_KEY_FILE]);
  });

  it('replaces a stale key file (and a symbolic link planted there) rather than following it', async () => {
    const elsewhere = join(root, 'elsewhere');
    writeFileSync(elsewhere, 'untouched\n');
    await sut.loadOrGenerate(new CapturedOutput(false));
    const file = join(dataDir, ADMIN_KEY_FILE);
    rmSync(file);
    symlinkSync(elsewhere, file);
    repository.rows.length = 0; // the database was reset

    const keys = await sut.loadOrGenerate(new CapturedOutput(false));
    expect(hashApiKey(readFileSync(file, 'utf8').trim())).toEqual(keys[0].hash);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(readFileSync(elsewhere, 'utf8')).toBe('untouched\n');
    expect(logged()).toContain(`Replaced ${file}`);
  });

  it('loads the stored hashes on later starts, prints nothing and leaves the key file as it is', async () => {
    const first = await sut.loadOrGenerate(new CapturedOutput(false));
    const file = join(dataDir, ADMIN_KEY_FILE);
    const written = readFileSync(file, 'utf8');
    const terminal = new CapturedOutput(true);
    expect(await sut.loadOrGenerate(terminal)).toEqual(first);
    expect(terminal.lines).toEqual([]);
    expect(readFileSync(file, 'utf8')).toBe(written);
    expect(repository.rows).toHaveLength(1);
  });

  it('stores nothing when the key cannot be written, so that the next start generates one again', async () => {
    const readOnly = join(root, 'read-only');
    writeFileSync(readOnly, ''); // a file where the data directory should be: mkdir fails, even for root
    chmodSync(readOnly, 0o400);
    const blocked = new StoredApiKeys(
      repository as unknown as ApiKeyRepository,
      loadAppConfig({ RUNNERHUB_DATA_DIR: readOnly }),
    );
    await expect(blocked.loadOrGenerate(new CapturedOutput(false))).rejects.toThrow(
      /cannot write it to .*read-only\/admin-api-key .*make RUNNERHUB_DATA_DIR writable, or set RUNNERHUB_API_KEYS/,
    );
    expect(repository.rows).toEqual([]);
  });

  it('skips a stored row with a role it does not know, rather than guess its power', async () => {
    await repository.insert({ name: 'root-00000000', role: 'root', keyHash: '0'.repeat(64) });
    await repository.insert({ name: 'viewer-11111111', role: 'viewer', keyHash: '1'.repeat(64) });
    const keys = await sut.loadOrGenerate(new CapturedOutput(true));
    expect(keys.map((key) => key.name)).toEqual(['viewer-11111111']);
    expect(warnings).toHaveBeenCalledWith('Ignoring stored API key root-00000000: unknown role "root"');
  });
});
