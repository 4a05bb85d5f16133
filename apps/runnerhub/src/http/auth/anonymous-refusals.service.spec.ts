import type { AuditLogRepository, NewAuditLogEntry } from '@app/persistence';
import { SchedulerRegistry } from '@nestjs/schedule';
import { Registry } from 'prom-client';
import { AnonymousRefusal, AnonymousRefusals, ANONYMOUS_REFUSED_ACTION } from './anonymous-refusals.service';

describe(AnonymousRefusals.name, () => {
  let registry: Registry;
  let written: NewAuditLogEntry[];
  let append: jest.Mock<Promise<void>, [NewAuditLogEntry]>;
  let sut: AnonymousRefusals;

  beforeEach(() => {
    registry = new Registry();
    written = [];
    append = jest.fn((entry: NewAuditLogEntry) => {
      written.push(entry);
      return Promise.resolve();
    });
    sut = new AnonymousRefusals(registry, { append } as unknown as AuditLogRepository, new SchedulerRegistry());
  });

  const refusal = (overrides: Partial<AnonymousRefusal> = {}): AnonymousRefusal => ({
    address: '10.0.0.1',
    method: 'POST',
    status: 401,
    reason: 'missing-key',
    ...overrides,
  });

  async function counted(reason: string, status: number): Promise<number> {
    const metric = (await registry.getSingleMetric('runnerhub_http_refused_total')!.get()).values;
    return metric.find((value) => value.labels.reason === reason && value.labels.status === String(status))?.value ?? 0;
  }

  it('counts every refusal by reason and status, reads included, and writes no row per call', async () => {
    sut.note(refusal());
    sut.note(refusal({ method: 'GET' }));
    sut.note(refusal({ status: 429, reason: 'rate-limited' }));
    expect(await counted('missing-key', 401)).toBe(2);
    expect(await counted('rate-limited', 429)).toBe(1);
    expect(append).not.toHaveBeenCalled();
  });

  it('sums the mutating refusals of an interval up in one audit row: count, statuses, distinct addresses', async () => {
    const since = new Date('2030-01-01T12:00:00.000Z');
    const until = new Date('2030-01-01T12:01:00.000Z');
    await sut.flush(since);
    for (let i = 0; i < 60; i++) sut.note(refusal({ address: i % 2 ? '10.0.0.1' : '10.0.0.2', status: 404 }));
    for (let i = 0; i < 240; i++) sut.note(refusal({ status: 429, reason: 'rate-limited' }));
    sut.note(refusal({ method: 'GET' }));
    await sut.flush(until);
    expect(written).toEqual([
      {
        at: until,
        actor: 'anonymous',
        role: null,
        action: ANONYMOUS_REFUSED_ACTION,
        method: '*',
        path: '/api',
        target: null,
        outcome: 'failure',
        status: 429,
        errorCode: null,
        details: {
          refused: 300,
          addresses: 2,
          statuses: { '404': 60, '429': 240 },
          since: since.toISOString(),
          until: until.toISOString(),
        },
        requestId: null,
      },
    ]);
  });

  it('writes nothing for an interval without refusals, and starts afresh after each summary', async () => {
    await sut.flush();
    expect(append).not.toHaveBeenCalled();
    sut.note(refusal());
    await sut.flush();
    await sut.flush();
    expect(append).toHaveBeenCalledTimes(1);
  });

  it('keeps the summary when its write fails: logged, never thrown', async () => {
    append.mockRejectedValueOnce(new Error('database away'));
    const logged = jest.spyOn(Reflect.get(sut, 'logger') as { error(message: string): void }, 'error');
    logged.mockImplementation(() => undefined);
    sut.note(refusal());
    await expect(sut.flush()).resolves.toBeUndefined();
    expect(logged).toHaveBeenCalledWith(expect.stringMatching(/"refused":1.*database away$/));
  });
});
