import { loadAppConfig } from '@app/common';
import type {
  AuditLogRepository,
  ContainerStatsRepository,
  Exclusive,
  GitHubDeliveryRepository,
  ScanLock,
} from '@app/persistence';
import { RecordRetention, RETENTION_BATCH_SIZE } from './record-retention.service';

const NOW = new Date('2030-06-01T00:00:00.000Z');
const A_DAY_MS = 86_400_000;

/** A table of `rows` rows older than any cutoff: each batch deletes what is left, up to the batch size. */
function table(rows: number) {
  let left = rows;
  const pruneBatch = jest.fn((_cutoff: Date, limit: number) => {
    const deleted = Math.min(left, limit);
    left -= deleted;
    return Promise.resolve(deleted);
  });
  return { pruneBatch };
}

describe(RecordRetention.name, () => {
  function build(rows: { audit: number; deliveries: number; samples: number }, lockFree = true) {
    const config = loadAppConfig({
      AUDIT_RETENTION_DAYS: '30',
      DELIVERY_RETENTION_DAYS: '7',
      STATS_RETENTION_MS: '60000',
    });
    const audit = table(rows.audit);
    const deliveries = table(rows.deliveries);
    const samples = table(rows.samples);
    const lock = {
      runExclusive: jest.fn(async <T>(_key: number, work: () => Promise<T>): Promise<Exclusive<T>> =>
        lockFree ? { ran: true, result: await work() } : { ran: false },
      ),
    };
    const sut = new RecordRetention(
      config,
      lock as unknown as ScanLock,
      audit as unknown as AuditLogRepository,
      deliveries as unknown as GitHubDeliveryRepository,
      samples as unknown as ContainerStatsRepository,
    );
    return { sut, audit, deliveries, samples, lock };
  }

  it('prunes each record at its own cutoff, in batches until less than a batch is left', async () => {
    const { sut, audit, deliveries, samples } = build({
      audit: 2 * RETENTION_BATCH_SIZE + 5,
      deliveries: 3,
      samples: 0,
    });
    expect(await sut.run(NOW)).toEqual({
      auditEntries: 2 * RETENTION_BATCH_SIZE + 5,
      deliveryReceipts: 3,
      statsSamples: 0,
    });
    expect(audit.pruneBatch).toHaveBeenCalledTimes(3);
    expect(audit.pruneBatch).toHaveBeenCalledWith(new Date(NOW.getTime() - 30 * A_DAY_MS), RETENTION_BATCH_SIZE);
    expect(deliveries.pruneBatch).toHaveBeenCalledWith(new Date(NOW.getTime() - 7 * A_DAY_MS), RETENTION_BATCH_SIZE);
    expect(samples.pruneBatch).toHaveBeenCalledWith(new Date(NOW.getTime() - 60_000), RETENTION_BATCH_SIZE);
    expect(samples.pruneBatch).toHaveBeenCalledTimes(1);
  });

  it('does nothing while another replica holds the lock', async () => {
    const { sut, audit } = build({ audit: 10, deliveries: 0, samples: 0 }, false);
    expect(await sut.run(NOW)).toEqual({ auditEntries: 0, deliveryReceipts: 0, statsSamples: 0 });
    expect(audit.pruneBatch).not.toHaveBeenCalled();
  });

  it('never runs twice at once: a call during a run answers with that run', async () => {
    const { sut, lock } = build({ audit: 10, deliveries: 0, samples: 0 });
    const [first, second] = await Promise.all([sut.run(NOW), sut.run(NOW)]);
    expect(second).toBe(first);
    expect(lock.runExclusive).toHaveBeenCalledTimes(1);
    await sut.run(NOW);
    expect(lock.runExclusive).toHaveBeenCalledTimes(2);
  });
});
