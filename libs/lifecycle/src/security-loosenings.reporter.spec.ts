import { loadAppConfig } from '@app/common';
import { Logger } from '@nestjs/common';
import { SecurityLooseningsReporter } from './security-loosenings.reporter';

describe(SecurityLooseningsReporter.name, () => {
  let warn: jest.SpyInstance;
  let log: jest.SpyInstance;

  beforeEach(() => {
    warn = jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
    log = jest.spyOn(Logger.prototype, 'log').mockImplementation(() => undefined);
  });

  afterEach(() => jest.restoreAllMocks());

  const sut = (env: Record<string, string> = {}) => new SecurityLooseningsReporter(loadAppConfig(env));

  it('says "none" when fully locked down, and warns of nothing', () => {
    const reporter = sut();
    expect(reporter.loosenings()).toEqual([]);
    reporter.onApplicationBootstrap();
    expect(warn).not.toHaveBeenCalled();
    expect(log).toHaveBeenCalledWith(expect.stringContaining('Security loosenings in effect: none'));
  });

  it('warns of every loosening in effect, naming the setting of each', () => {
    const reporter = sut({
      SECURITY_ALLOWED_CAPABILITIES: 'NET_ADMIN',
      SECURITY_ALLOWED_SECURITY_OPTS: 'seccomp=unconfined',
      SECURITY_ALLOWED_BIND_MOUNTS: '/srv/cache',
      SECURITY_ALLOW_USERNS_HOST: 'true',
      CONTAINER_LABEL_PREFIXES: 'app.,traefik.',
      RUNNER_DEFAULT_PROFILE: 'standard',
      RUNNER_PROFILES: 'docker:docker',
      DIND_PRIVILEGED: 'true',
    });
    expect(reporter.loosenings()).toEqual([
      expect.stringMatching(/^SECURITY_ALLOWED_CAPABILITIES=NET_ADMIN: /),
      expect.stringMatching(/^SECURITY_ALLOWED_SECURITY_OPTS=seccomp=unconfined: /),
      expect.stringMatching(/^SECURITY_ALLOWED_BIND_MOUNTS=\/srv\/cache: .*read-only/),
      expect.stringMatching(/^SECURITY_ALLOW_USERNS_HOST=true: /),
      expect.stringMatching(/^CONTAINER_LABEL_PREFIXES=app\.,traefik\.: /),
      expect.stringMatching(/^runner profile docker in use \(RUNNER_PROFILES label docker\)/),
      expect.stringMatching(/^runner profile standard in use \(RUNNER_DEFAULT_PROFILE\)/),
      expect.stringMatching(/^DIND_PRIVILEGED=true: /),
    ]);
    reporter.onApplicationBootstrap();
    const warned = warn.mock.calls.map(([message]) => String(message));
    expect(warned).toEqual([
      'Security loosenings in effect: 8',
      ...reporter.loosenings().map((loosening) => `Loosening: ${loosening}`),
    ]);
    expect(log).not.toHaveBeenCalled();
  });

  it('mentions DIND_PRIVILEGED only when some runner profile is docker', () => {
    expect(sut({ DIND_PRIVILEGED: 'true' }).loosenings()).toEqual([]);
    expect(sut({ RUNNER_PROFILES: 'docker:docker', DIND_PRIVILEGED: 'false' }).loosenings()).toEqual([
      expect.stringMatching(/^runner profile docker in use/),
    ]);
  });
});
