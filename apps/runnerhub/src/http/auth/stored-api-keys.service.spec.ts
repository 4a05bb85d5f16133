import { ApiKeyEntity, ApiKeyRepository, NewApiKey } from '@app/persistence';
import { Logger } from '@nestjs/common';
import { hashApiKey } from './api-key.crypto';
import { StoredApiKeys } from './stored-api-keys.service';

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

describe(StoredApiKeys.name, () => {
  let warnings: jest.SpyInstance;

  beforeEach(() => {
    warnings = jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
  });

  afterEach(() => warnings.mockRestore());

  it('generates one admin key on first start, stores only its hash, and prints the key once', async () => {
    const repository = new MemoryApiKeys();
    const printed: string[] = [];
    const keys = await new StoredApiKeys(repository as unknown as ApiKeyRepository).loadOrGenerate((line) =>
      printed.push(line),
    );

    expect(printed).toHaveLength(1);
    const key = /will not be shown again.*: (\S+)\n$/.exec(printed[0])![1];
    const hash = hashApiKey(key);
    expect(keys).toEqual([{ name: `admin-${hash.toString('hex').slice(0, 8)}`, role: 'admin', hash }]);
    expect(repository.rows).toEqual([
      { name: keys[0].name, role: 'admin', keyHash: hash.toString('hex'), createdAt: expect.any(Date) },
    ]);
    expect(JSON.stringify(repository.rows)).not.toContain(key);
    expect(warnings.mock.calls.flat().join('\n')).not.toContain(key);
  });

  it('loads the stored hashes on later starts and prints nothing', async () => {
    const repository = new MemoryApiKeys();
    const stored = new StoredApiKeys(repository as unknown as ApiKeyRepository);
    const first = await stored.loadOrGenerate(() => undefined);
    const printed: string[] = [];
    expect(await stored.loadOrGenerate((line) => printed.push(line))).toEqual(first);
    expect(printed).toEqual([]);
    expect(repository.rows).toHaveLength(1);
  });

  it('skips a stored row with a role it does not know, rather than guess its power', async () => {
    const repository = new MemoryApiKeys();
    await repository.insert({ name: 'root-00000000', role: 'root', keyHash: '0'.repeat(64) });
    await repository.insert({ name: 'viewer-11111111', role: 'viewer', keyHash: '1'.repeat(64) });
    const keys = await new StoredApiKeys(repository as unknown as ApiKeyRepository).loadOrGenerate(() => undefined);
    expect(keys.map((key) => key.name)).toEqual(['viewer-11111111']);
    expect(warnings).toHaveBeenCalledWith('Ignoring stored API key root-00000000: unknown role "root"');
  });
});
