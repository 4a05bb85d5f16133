import { Logger } from '@nestjs/common';

/**
 * Why a readiness check fails, in the log rather than in the public answer: at warn when the part goes down or its
 * reason changes, and once when it is back, so that a probe every few seconds does not repeat the same line.
 */
export class FailureLog {
  private readonly logger = new Logger('Health');
  private lastReason: string | null = null;

  constructor(private readonly part: string) {}

  failed(error: unknown): void {
    const reason = error instanceof Error ? error.message : String(error);
    if (reason === this.lastReason) return;
    this.lastReason = reason;
    this.logger.warn(`Not ready: ${this.part} is down: ${reason}`);
  }

  recovered(): void {
    if (this.lastReason === null) return;
    this.lastReason = null;
    this.logger.log(`${this.part[0].toUpperCase()}${this.part.slice(1)} is up again`);
  }
}
