import { DomainError, ErrorCode, loadAppConfig } from '@app/common';
import { JobRetryPolicy } from './job-retry.policy';

describe(JobRetryPolicy.name, () => {
  const sut = new JobRetryPolicy(loadAppConfig({ JOB_MAX_ATTEMPTS: '3', JOB_RETRY_BACKOFF_MS: '1000' }));
  const now = new Date('2026-11-29T00:00:00Z');
  const outage = new DomainError(ErrorCode.GitHubUnavailable, 'GitHub answered 500');

  it('retries a passing failure with a back-off that doubles', () => {
    expect(sut.decide(1, outage, now)).toEqual({
      retry: true,
      availableAt: new Date(now.getTime() + 1000),
      reason: 'try 1 of 3 failed: GitHub answered 500',
    });
    expect(sut.decide(2, outage, now)).toMatchObject({ retry: true, availableAt: new Date(now.getTime() + 2000) });
  });

  it('gives up after the last try, saying how many and why', () => {
    expect(sut.decide(3, outage, now)).toEqual({ retry: false, reason: 'gave up after 3 tries: GitHub answered 500' });
  });

  it('does not retry what another try cannot fix', () => {
    const missing = new DomainError(ErrorCode.ImageNotFound, 'Image x is not on the engine');
    expect(sut.decide(1, missing, now)).toEqual({ retry: false, reason: 'Image x is not on the engine' });
    expect(sut.decide(1, new Error('socket hang up'), now)).toMatchObject({ retry: true });
  });
});
