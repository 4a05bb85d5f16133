import { ApiKeyRepository } from '@app/persistence';
import { Injectable, Logger } from '@nestjs/common';
import { generateApiKey, knownApiKey, KnownApiKey } from './api-key.crypto';
import { Role, ROLES } from './auth.decorators';

/**
 * The keys RunnerHub keeps itself when RUNNERHUB_API_KEYS is unset. On the first start there are none: one admin key
 * is generated, only its hash is stored, and the key is printed exactly once, so that a fresh install is usable
 * without ever leaving the API open. Later starts load the stored hashes and print nothing.
 */
@Injectable()
export class StoredApiKeys {
  private readonly logger = new Logger('ApiKeys');

  constructor(private readonly repository: ApiKeyRepository) {}

  async loadOrGenerate(print: (line: string) => void = (line) => process.stdout.write(line)): Promise<KnownApiKey[]> {
    const stored = await this.repository.all();
    if (stored.length > 0) {
      return stored.flatMap((row) => {
        if (!ROLES.includes(row.role as Role)) {
          this.logger.warn(`Ignoring stored API key ${row.name}: unknown role ${JSON.stringify(row.role)}`);
          return [];
        }
        return [{ name: row.name, role: row.role as Role, hash: Buffer.from(row.keyHash, 'hex') }];
      });
    }
    const key = generateApiKey();
    const generated = knownApiKey(key, 'admin');
    await this.repository.insert({
      name: generated.name,
      role: generated.role,
      keyHash: generated.hash.toString('hex'),
    });
    // Straight to stdout rather than through the logger: a log level of warn or silent must not swallow the only
    // copy of the key. One line, so that it is easy to find and to cut out of a log aggregator afterwards.
    print(
      `RunnerHub generated its first API key (${generated.name}, role admin); it will not be shown again, so store ` +
        `it now, or set RUNNERHUB_API_KEYS to use keys of your own: ${key}\n`,
    );
    this.logger.warn(`Generated the first admin API key ${generated.name}; the key was printed once on stdout`);
    return [generated];
  }
}
