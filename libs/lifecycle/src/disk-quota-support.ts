import { DomainError, ErrorCode } from '@app/common';
import { DockerEngine } from '@app/docker';
import { Injectable } from '@nestjs/common';

const CACHE_MS = 60_000;

/**
 * Whether the engine can cap a container's writable layer (`StorageOpt.size`). Only some storage drivers can:
 * overlay2 on xfs mounted with pquota, btrfs, zfs, devicemapper, windowsfilter. Asked before a record is written,
 * so a request the engine cannot honour is refused up front, naming the driver.
 */
@Injectable()
export class DiskQuotaSupport {
  /** Per engine: each host of the fleet has its own storage. */
  private readonly cached = new Map<string, { at: number; driver: string; backing?: string }>();

  async require(engine: DockerEngine): Promise<void> {
    const { driver, backing } = await this.storage(engine);
    const supported =
      ['btrfs', 'zfs', 'devicemapper', 'windowsfilter'].includes(driver) ||
      (driver === 'overlay2' && backing === 'xfs');
    if (!supported) {
      throw new DomainError(
        ErrorCode.UnsupportedByEngine,
        `limits.diskGB cannot be honoured: the engine's storage driver is ${driver}` +
          `${backing ? ` on ${backing}` : ''} on engine ${engine.name}, which has no per-container disk quota ` +
          '(it needs overlay2 on xfs with pquota, btrfs, zfs or devicemapper). Leave diskGB unset on this engine.',
        { field: 'limits.diskGB', engine: engine.name, storageDriver: driver, backingFilesystem: backing ?? null },
      );
    }
  }

  private async storage(engine: DockerEngine): Promise<{ driver: string; backing?: string }> {
    let cached = this.cached.get(engine.name);
    if (!cached || Date.now() - cached.at > CACHE_MS) {
      const info = await engine.info();
      cached = { at: Date.now(), driver: info.storageDriver, backing: info.backingFilesystem };
      this.cached.set(engine.name, cached);
    }
    return cached;
  }
}
