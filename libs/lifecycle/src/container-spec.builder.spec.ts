import { DomainError, ErrorCode, loadAppConfig } from '@app/common';
import { ContainerSpecBuilder } from './container-spec.builder';

const identity = {
  recordId: '0b6f1c2e-0000-4000-8000-000000000001',
  name: 'runner-0b6f1c2e0000',
  runnerId: 'r-1',
  jobId: 'j-1',
};

function builder(env: Record<string, string> = {}) {
  return new ContainerSpecBuilder(loadAppConfig(env));
}

function problemsOf(run: () => unknown): string[] {
  try {
    run();
  } catch (error) {
    if (DomainError.is(error, ErrorCode.ValidationFailed)) {
      return (error.details.problems as Array<{ field: string; message: string }>).map(
        (p) => `${p.field} ${p.message}`,
      );
    }
    throw error;
  }
  throw new Error('expected a validation failure');
}

describe(ContainerSpecBuilder.name, () => {
  it('applies the locked-down default profile and the default limits', () => {
    const sut = builder();
    const { limits, security } = sut.resolve({ image: 'runnerhub-test/busybox:1' });
    const spec = sut.build(identity, { image: 'runnerhub-test/busybox:1' }, limits, security);
    expect(spec.hostConfig).toMatchObject({
      CapDrop: ['ALL'],
      CapAdd: [],
      SecurityOpt: ['no-new-privileges'],
      Privileged: false,
      ReadonlyRootfs: false,
      CpuShares: 1024,
      PidsLimit: 512,
      NetworkMode: 'bridge',
      Binds: [],
      Init: true,
    });
    expect(spec.hostConfig).not.toHaveProperty('Memory');
    expect(spec.hostConfig).not.toHaveProperty('StorageOpt');
  });

  it('maps every limit to the engine field the spec names, with no swap', () => {
    const sut = builder();
    const limits = { cpuShares: 2048, cpuQuota: 150000, memoryMB: 4096, diskGB: 10, pidsLimit: 256 };
    const resolved = sut.resolve({ image: 'x/y:1' }, limits);
    const spec = sut.build(identity, { image: 'x/y:1' }, resolved.limits, resolved.security);
    expect(spec.hostConfig).toMatchObject({
      CpuShares: 2048,
      CpuQuota: 150000,
      CpuPeriod: 100000,
      Memory: 4096 * 1024 * 1024,
      MemorySwap: 4096 * 1024 * 1024,
      PidsLimit: 256,
      StorageOpt: { size: '10G' },
    });
  });

  it('labels the container so it can be found again, and keeps its own labels over the caller', () => {
    const sut = builder();
    const request = {
      image: 'x/y:1',
      repository: 'octo/hello',
      labels: { team: 'platform', 'runnerhub.type': 'debug' },
      env: { RUNNER_TOKEN: 's3cret', EPHEMERAL: 'true' },
    };
    const resolved = sut.resolve(request);
    const spec = sut.build(identity, request, resolved.limits, resolved.security);
    expect(spec.labels).toEqual({
      team: 'platform',
      'runnerhub.managed': 'true',
      'runnerhub.type': 'debug',
      'runnerhub.record': identity.recordId,
      'runnerhub.job': 'j-1',
      'runnerhub.runner': 'r-1',
      'runnerhub.repository': 'octo/hello',
    });
    expect(spec.env).toEqual(['RUNNER_TOKEN=s3cret', 'EPHEMERAL=true']);
    expect(JSON.stringify(resolved)).not.toContain('s3cret');
  });

  it('mounts scratch paths as tmpfs when the root filesystem is read-only', () => {
    const sut = builder();
    const request = { image: 'x/y:1', workingDir: '/home/runner/work' };
    const resolved = sut.resolve(request, {}, { readOnlyRootfs: true });
    const spec = sut.build(identity, request, resolved.limits, resolved.security);
    expect(spec.hostConfig.ReadonlyRootfs).toBe(true);
    expect(Object.keys(spec.hostConfig.Tmpfs ?? {})).toEqual(['/tmp', '/home/runner/work']);
  });

  it.each([
    [{ cpuShares: 1 }, /limits.cpuShares must be an integer from 2 to 262144, got 1/],
    [{ cpuQuota: 500 }, /limits.cpuQuota must be an integer from 1000 to 1600000 \(16 CPUs\)/],
    [{ memoryMB: 0 }, /limits.memoryMB must be an integer from 6 to 32768, got 0/],
    [{ memoryMB: 1.5 }, /limits.memoryMB must be an integer/],
    [{ memoryMB: 40000 }, /limits.memoryMB must be an integer from 6 to 32768, got 40000/],
    [{ pidsLimit: -1 }, /limits.pidsLimit/],
    [{ diskGB: 1000 }, /limits.diskGB must be an integer from 1 to 500/],
  ])('refuses the limits %j before the engine sees them', (limits, message) => {
    const problems = problemsOf(() => builder().resolve({ image: 'x/y:1' }, limits));
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(message);
  });

  it('reads the ceilings from configuration', () => {
    expect(() => builder({ LIMIT_MAX_MEMORY_MB: '128' }).resolve({ image: 'x/y:1' }, { memoryMB: 129 })).toThrow(
      /memoryMB must be an integer from 6 to 128/,
    );
  });

  it('loosens the profile only where configuration allows it', () => {
    const strict = builder();
    const problems = problemsOf(() =>
      strict.resolve(
        { image: 'x/y:1' },
        {},
        { capAdd: ['NET_ADMIN'], securityOpt: ['seccomp=unconfined'], binds: ['/etc:/host-etc'] },
      ),
    );
    expect(problems).toEqual([
      expect.stringMatching(/security.capAdd NET_ADMIN is not allowed \(allowed: none/),
      expect.stringMatching(/security.securityOpt seccomp=unconfined is not allowed/),
      expect.stringMatching(/security.binds \/etc:\/host-etc is not allowed/),
    ]);
    const loose = builder({
      SECURITY_ALLOWED_CAPABILITIES: 'CHOWN,NET_BIND_SERVICE',
      SECURITY_ALLOWED_SECURITY_OPTS: 'apparmor=runner',
      SECURITY_ALLOWED_BIND_MOUNTS: '/srv/cache',
    });
    const resolved = loose.resolve(
      { image: 'x/y:1' },
      {},
      { capAdd: ['cap_chown'], securityOpt: ['apparmor=runner'], binds: ['/srv/cache/npm:/cache:ro'] },
    );
    expect(resolved.security).toMatchObject({
      capDrop: ['ALL'],
      capAdd: ['CHOWN'],
      securityOpt: ['no-new-privileges', 'apparmor=runner'],
      binds: ['/srv/cache/npm:/cache:ro'],
    });
    expect(
      problemsOf(() => loose.resolve({ image: 'x/y:1' }, {}, { binds: ['/srv/cache/../../etc:/x'] })),
    ).toHaveLength(1);
    expect(problemsOf(() => loose.resolve({ image: 'x/y:1' }, {}, { binds: ['/srv/cachex:/x'] }))).toHaveLength(1);
  });

  it('refuses a bad image, env name, reserved label or relative working dir, all at once', () => {
    const problems = problemsOf(() =>
      builder().resolve({
        image: 'UPPER case!',
        env: { 'BAD-NAME': 'x' },
        labels: { 'runnerhub.managed': 'false' },
        workingDir: 'relative',
      }),
    );
    expect(problems).toHaveLength(4);
  });

  it('gives the standard and docker profiles the capabilities sudo needs, without no-new-privileges', () => {
    const sut = builder();
    const strict = sut.resolve({ image: 'x/y:1' }, {}, { profile: 'strict' }).security;
    expect(strict).toMatchObject({ profile: 'strict', capAdd: [], securityOpt: ['no-new-privileges'] });
    for (const profile of ['standard', 'docker'] as const) {
      const resolved = sut.resolve({ image: 'x/y:1' }, {}, { profile });
      const spec = sut.build(identity, { image: 'x/y:1' }, resolved.limits, resolved.security);
      expect(resolved.security.profile).toBe(profile);
      expect(spec.hostConfig.SecurityOpt).toEqual([]);
      expect(spec.hostConfig.CapDrop).toEqual(['ALL']);
      expect(spec.hostConfig.CapAdd).toEqual(expect.arrayContaining(['SETUID', 'SETGID', 'CHOWN', 'DAC_OVERRIDE']));
      expect(spec.hostConfig.CapAdd).not.toContain('NET_RAW');
      expect(spec.hostConfig.CapAdd).not.toContain('SYS_ADMIN');
      expect(spec.hostConfig.Privileged).toBe(false);
    }
  });

  it('passes the command, entrypoint and user of an image family through to the engine', () => {
    const sut = builder();
    const request = { image: 'x/y:1', command: ['/home/runner/run.sh'], entrypoint: ['/init'], user: '1001:121' };
    const resolved = sut.resolve(request);
    expect(sut.build(identity, request, resolved.limits, resolved.security)).toMatchObject({
      cmd: ['/home/runner/run.sh'],
      entrypoint: ['/init'],
      user: '1001:121',
    });
  });
});
