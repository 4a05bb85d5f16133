import { AppConfig } from '@app/common';
import { Injectable, OnModuleInit } from '@nestjs/common';
import { hashApiKey, knownApiKey, KnownApiKey, matchApiKey } from './api-key.crypto';
import { Actor } from './auth.decorators';
import { StoredApiKeys } from './stored-api-keys.service';

/**
 * The API keys this process accepts, held as SHA-256 hashes only (the configured keys are hashed at start and the
 * plain keys are not kept), and the one question asked of them: whose key is this?
 */
@Injectable()
export class ApiKeyRegistry implements OnModuleInit {
  private keys: readonly KnownApiKey[] = [];

  constructor(
    private readonly config: AppConfig,
    private readonly stored: StoredApiKeys,
  ) {}

  async onModuleInit(): Promise<void> {
    // Configuration wins: with RUNNERHUB_API_KEYS set, a key generated on an earlier start is NOT accepted, so that
    // an operator who configures keys knows exactly which keys open the API, and revoking one really revokes it.
    this.keys = this.config.apiKeys
      ? this.config.apiKeys.map(({ key, role }) => knownApiKey(key, role))
      : await this.stored.loadOrGenerate();
  }

  /** The actor a presented key stands for, or undefined for a key RunnerHub does not know. */
  authenticate(presentedKey: string): Actor | undefined {
    const match = matchApiKey(hashApiKey(presentedKey), this.keys);
    return match ? { name: match.name, role: match.role } : undefined;
  }
}
