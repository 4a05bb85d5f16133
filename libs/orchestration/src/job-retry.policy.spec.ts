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

  it('fails a pull the registry refused at once, and retries one that could not reach the registry', () => {
    const refused = new DomainError(ErrorCode.ImagePullFailed, 'unauthorized', { reason: 'unauthorized' });
    const missing = new DomainError(ErrorCode.ImagePullFailed, 'manifest unknown', { reason: 'not-found' });
    const away = new DomainError(ErrorCode.ImagePullFailed, 'connection refused', { reason: 'unreachable' });
    expect(sut.decide(1, refused, now)).toEqual({ retry: false, reason: 'unauthorized' });
    expect(sut.decide(1, missing, now)).toEqual({ retry: false, reason: 'manifest unknown' });
    expect(sut.decide(1, away, now)).toMatchObject({ retry: true });
    expect(sut.decide(3, away, now)).toEqual({ retry: false, reason: 'gave up after 3 tries: connection refused' });
  });
});
