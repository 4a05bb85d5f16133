import { randomBytes } from 'node:crypto';
import { closeSync, existsSync, fchmodSync, mkdirSync, openSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { AppConfig } from '@app/common';
import { ApiKeyRepository } from '@app/persistence';
import { Injectable, Logger } from '@nestjs/common';
import { generateApiKey, knownApiKey, KnownApiKey } from './api-key.crypto';
import { Role, ROLES } from './auth.decorators';

/** The file, in RUNNERHUB_DATA_DIR, that receives a generated key when there is no terminal to show it on. */
export const ADMIN_KEY_FILE = 'admin-api-key';

/** Where a generated key can go: process.stdout, or a stand-in in tests. */
export interface KeyTerminal {
  /** True only for a terminal a person reads; a pipe or a file (a log collector) is not one. */
  isTTY?: boolean;
  write(text: string): unknown;
}

/**
 * The keys RunnerHub keeps itself when RUNNERHUB_API_KEYS is unset. On the first start there are none: one admin key
 * is generated, only its hash is stored, and the key is handed over exactly once, so that a fresh install is usable
 * without ever leaving the API open. Later starts load the stored hashes and hand over nothing.
 *
 * The key is printed only when stdout is a terminal. Under a service manager or in a container stdout goes to log
 * storage, where a key would stay readable by whoever reads the logs for as long as they are kept; there the key is
 * written to RUNNERHUB_DATA_DIR/admin-api-key instead, readable by RunnerHub's user only, and the log names the file.
 */
@Injectable()
export class StoredApiKeys {
  private readonly logger = new Logger('ApiKeys');

  constructor(
    private readonly repository: ApiKeyRepository,
    private readonly config: AppConfig,
  ) {}

  async loadOrGenerate(terminal: KeyTerminal = process.stdout): Promise<KnownApiKey[]> {
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
    // Handed over before its hash is stored: a key stored but never seen would lock the API for good, since later
    // starts generate nothing; one seen but not stored opens nothing, and the next start makes another.
    const where = terminal.isTTY ? this.print(terminal, generated.name, key) : this.writeKeyFile(key);
    await this.repository.insert({
      name: generated.name,
      role: generated.role,
      keyHash: generated.hash.toString('hex'),
    });
    this.logger.warn(`Generated the first admin API key ${generated.name}; ${where}`);
    return [generated];
  }

  /**
   * Straight to the terminal rather than through the logger: a log level of warn or silent must not swallow the
   * only copy of the key.
   */
  private print(terminal: KeyTerminal, name: string, key: string): string {
    terminal.write(
      `RunnerHub generated its first API key (${name}, role admin); it will not be shown again, so store it now, ` +
        `or set RUNNERHUB_API_KEYS to use keys of your own: ${key}\n`,
    );
    return 'the key was printed once on the terminal';
  }

  /**
   * Writes the key to a new file of mode 0600 and renames it into place: the key is never readable by others, not
   * even for a moment, and a symbolic link planted at the path is replaced rather than followed. A file already
   * there holds a key from a database that is gone (or the database would hold its hash), which opens nothing.
   */
  private writeKeyFile(key: string): string {
    const dir = this.config.dataDir;
    const file = join(dir, ADMIN_KEY_FILE);
    const temporary = join(dir, `.${ADMIN_KEY_FILE}.${randomBytes(6).toString('hex')}`);
    const replacing = existsSync(file);
    try {
      mkdirSync(dir, { recursive: true, mode: 0o700 });
      const fd = openSync(temporary, 'wx', 0o600);
      try {
        fchmodSync(fd, 0o600); // whatever the umask
        writeSync(fd, `${key}\n`);
      } finally {
        closeSync(fd);
      }
      renameSync(temporary, file);
    } catch (error) {
      removeQuietly(temporary);
      throw new Error(
        `RunnerHub generated its first API key but cannot write it to ${file} ` +
          `(${error instanceof Error ? error.message : String(error)}): make RUNNERHUB_DATA_DIR writable, or set ` +
          'RUNNERHUB_API_KEYS',
      );
    }
    if (replacing) this.logger.warn(`Replaced ${file}: the key it held is not in this database`);
    return (
      `the key is in ${file}, readable by this user only: store it elsewhere and delete the file, or set ` +
      'RUNNERHUB_API_KEYS to use keys of your own'
    );
  }
}

function removeQuietly(file: string): void {
  try {
    unlinkSync(file);
  } catch {
    // Never made, or its directory is the problem.
  }
}
