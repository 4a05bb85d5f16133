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
  private cached?: { at: number; driver: string; backing?: string };

  constructor(private readonly engine: DockerEngine) {}

  async require(): Promise<void> {
    const { driver, backing } = await this.storage();
    const supported =
      ['btrfs', 'zfs', 'devicemapper', 'windowsfilter'].includes(driver) ||
      (driver === 'overlay2' && backing === 'xfs');
    if (!supported) {
      throw new DomainError(
        ErrorCode.UnsupportedByEngine,
        `limits.diskGB cannot be honoured: the engine's storage driver is ${driver}` +
          `${backing ? ` on ${backing}` : ''}, which has no per-container disk quota ` +
          '(it needs overlay2 on xfs with pquota, btrfs, zfs or devicemapper). Leave diskGB unset on this engine.',
        { field: 'limits.diskGB', storageDriver: driver, backingFilesystem: backing ?? null },
      );
    }
  }

  private async storage(): Promise<{ driver: string; backing?: string }> {
    if (!this.cached || Date.now() - this.cached.at > CACHE_MS) {
      const info = await this.engine.info();
      this.cached = { at: Date.now(), driver: info.storageDriver, backing: info.backingFilesystem };
    }
    return this.cached;
  }
}
