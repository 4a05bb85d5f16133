import { AuditLogRepository, NewAuditLogEntry } from '@app/persistence';
import { Injectable, Logger } from '@nestjs/common';

/** Longer than a healthy insert ever takes, short enough that a sick database does not hold every mutation hostage. */
const WRITE_DEADLINE_MS = 2_000;

/**
 * Writes audit rows. A failed or slow write never fails the call it records: it is logged as an error with the
 * row's facts (so the trail can be rebuilt from the log) and the response goes on.
 */
@Injectable()
export class AuditRecorder {
  private readonly logger = new Logger('Audit');

  constructor(private readonly repository: AuditLogRepository) {}

  async record(entry: NewAuditLogEntry): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_resolve, reject) => {
      timer = setTimeout(() => reject(new Error(`no answer within ${WRITE_DEADLINE_MS} ms`)), WRITE_DEADLINE_MS);
    });
    try {
      await Promise.race([this.repository.append(entry), deadline]);
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      this.logger.error(`Could not write the audit row ${JSON.stringify(entry)}: ${reason}`);
    } finally {
      clearTimeout(timer);
    }
  }
}
