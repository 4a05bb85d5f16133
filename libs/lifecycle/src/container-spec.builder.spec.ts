import { mkdirSync, mkdtempSync, realpathSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DomainError, ErrorCode, loadAppConfig } from '@app/common';
import { ContainerSpecBuilder } from './container-spec.builder';
import { HostBindMounts } from './host-bind-mounts';

const identity = {
  recordId: '0b6f1c2e-0000-4000-8000-000000000001',
  name: 'runner-0b6f1c2e0000',
  runnerId: 'r-1',
  jobId: 'j-1',
};
const MIB = 1024 * 1024;

function builder(env: Record<string, string> = {}) {
  const config = loadAppConfig(env);
  return new ContainerSpecBuilder(config, new HostBindMounts(config));
}

async function problemsOf(run: () => Promise<unknown>): Promise<string[]> {
  try {
    await run();
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
  let cache: string;

  beforeAll(() => {
    cache = realpathSync(mkdtempSync(join(tmpdir(), 'spec-builder-')));
    mkdirSync(join(cache, 'npm'));
  });

  afterAll(() => rmSync(cache, { recursive: true, force: true }));

  it('applies the locked-down default profile and the configured default limits: nothing unlimited', async () => {
    const sut = builder();
    const { limits, security } = await sut.resolve({ image: 'runnerhub-test/busybox:1' });
    expect(limits).toEqual({ cpuShares: 1024, cpuQuota: 200_000, memoryMB: 2048, pidsLimit: 512 });
    const spec = sut.build(identity, { image: 'runnerhub-test/busybox:1' }, limits, security);
    expect(spec.hostConfig).toMatchObject({
      CapDrop: ['ALL'],
      CapAdd: [],
      SecurityOpt: ['no-new-privileges'],
      Privileged: false,
      ReadonlyRootfs: false,
      CpuShares: 1024,
      CpuQuota: 200_000,
      CpuPeriod: 100_000,
      Memory: 2048 * MIB,
      MemorySwap: 2048 * MIB,
      PidsLimit: 512,
      NetworkMode: 'bridge',
      Init: true,
    });
    expect(spec.hostConfig).not.toHaveProperty('Binds');
    expect(spec.hostConfig).not.toHaveProperty('Mounts');
    expect(spec.hostConfig).not.toHaveProperty('StorageOpt');
  });

  it('takes the defaults from DEFAULT_MEMORY_MB, DEFAULT_CPUS and DEFAULT_PIDS', async () => {
    const sut = builder({ DEFAULT_MEMORY_MB: '512', DEFAULT_CPUS: '1', DEFAULT_PIDS: '64' });
    const { limits } = await sut.resolve({ image: 'x/y:1' }, { memoryMB: 128 });
    expect(limits).toEqual({ cpuShares: 1024, cpuQuota: 100_000, memoryMB: 128, pidsLimit: 64 });
  });

  it('maps every limit to the engine field the spec names, with no swap', async () => {
    const sut = builder();
    const limits = { cpuShares: 2048, cpuQuota: 150000, memoryMB: 4096, diskGB: 10, pidsLimit: 256 };
    const resolved = await sut.resolve({ image: 'x/y:1' }, limits);
    const spec = sut.build(identity, { image: 'x/y:1' }, resolved.limits, resolved.security);
    expect(spec.hostConfig).toMatchObject({
      CpuShares: 2048,
      CpuQuota: 150000,
      CpuPeriod: 100000,
      Memory: 4096 * MIB,
      MemorySwap: 4096 * MIB,
      PidsLimit: 256,
      StorageOpt: { size: '10G' },
    });
  });

  it('labels the container so it can be found again, next to the caller labels under allowed prefixes', async () => {
    const sut = builder();
    const request = {
      image: 'x/y:1',
      repository: 'octo/hello',
      labels: { 'app.team': 'platform', 'org.opencontainers.image.title': 'hello' },
      env: { RUNNER_TOKEN: 's3cret', EPHEMERAL: 'true' },
    };
    const resolved = await sut.resolve(request);
    const spec = sut.build(identity, request, resolved.limits, resolved.security);
    expect(spec.labels).toEqual({
      'app.team': 'platform',
      'org.opencontainers.image.title': 'hello',
      'runnerhub.managed': 'true',
      'runnerhub.type': 'ephemeral',
      'runnerhub.record': identity.recordId,
      'runnerhub.job': 'j-1',
      'runnerhub.runner': 'r-1',
      'runnerhub.repository': 'octo/hello',
    });
    expect(spec.env).toEqual(['RUNNER_TOKEN=s3cret', 'EPHEMERAL=true']);
    expect(JSON.stringify(resolved)).not.toContain('s3cret');
  });

  it('refuses every runnerhub.* label key and keys outside CONTAINER_LABEL_PREFIXES, naming each', async () => {
    const labels = {
      'runnerhub.type': 'dind',
      'runnerhub.job': 'someone-elses',
      'RunnerHub.Managed': 'true',
      'runnerhub.anything': 'x',
      'traefik.http.routers.x.rule': 'Host(`runnerhub.example`)',
      team: 'platform',
      'app.': 'empty-rest',
    };
    const problems = await problemsOf(() => builder().resolve({ image: 'x/y:1', labels }));
    expect(problems).toEqual([
      'config.labels.runnerhub.type is reserved: runnerhub.* labels are set by RunnerHub itself',
      'config.labels.runnerhub.job is reserved: runnerhub.* labels are set by RunnerHub itself',
      'config.labels.RunnerHub.Managed is reserved: runnerhub.* labels are set by RunnerHub itself',
      'config.labels.runnerhub.anything is reserved: runnerhub.* labels are set by RunnerHub itself',
      expect.stringMatching(
        /^config\.labels\.traefik\.http\.routers\.x\.rule is not allowed: label keys must start with one of org\.opencontainers\., app\. \(CONTAINER_LABEL_PREFIXES\)$/,
      ),
      expect.stringMatching(/^config\.labels\.team is not allowed/),
      expect.stringMatching(/^config\.labels\.app\. is not allowed/),
    ]);
    const widened = builder({ CONTAINER_LABEL_PREFIXES: 'com.acme.' });
    await expect(widened.resolve({ image: 'x/y:1', labels: { 'com.acme.team': 'a' } })).resolves.toBeDefined();
    expect(await problemsOf(() => widened.resolve({ image: 'x/y:1', labels: { 'app.team': 'a' } }))).toEqual([
      expect.stringMatching(/com\.acme\. \(CONTAINER_LABEL_PREFIXES\)/),
    ]);
  });

  it('never lets a request claim to be a daemon sidecar (runnerhub.type dind)', async () => {
    expect(await problemsOf(() => builder().resolve({ image: 'x/y:1', type: 'dind' }))).toEqual([
      expect.stringMatching(/^config\.type must not be dind/),
    ]);
  });

  it('mounts scratch paths as tmpfs of TMPFS_SIZE_MB when the root filesystem is read-only', async () => {
    const sut = builder({ TMPFS_SIZE_MB: '64' });
    const request = { image: 'x/y:1', workingDir: '/home/runner/work' };
    const resolved = await sut.resolve(request, {}, { readOnlyRootfs: true });
    const spec = sut.build(identity, request, resolved.limits, resolved.security);
    expect(spec.hostConfig.ReadonlyRootfs).toBe(true);
    expect(spec.hostConfig.Tmpfs).toEqual({
      '/tmp': 'rw,noexec,nosuid,size=64m',
      '/home/runner/work': 'rw,noexec,nosuid,size=64m',
    });
  });

  it('refuses scratch tmpfs that would take the whole memory limit, naming both fields', async () => {
    const sut = builder({ TMPFS_SIZE_MB: '256' });
    const problems = await problemsOf(() =>
      sut.resolve({ image: 'x/y:1' }, { memoryMB: 512 }, { readOnlyRootfs: true, tmpfs: ['/tmp', '/work'] }),
    );
    expect(problems).toEqual([
      expect.stringMatching(/^limits\.memoryMB must be more than 512 MiB: 2 scratch tmpfs of 256 MiB/),
      expect.stringMatching(/^security\.tmpfs 2 scratch tmpfs of 256 MiB \(TMPFS_SIZE_MB\) take 512 MiB/),
    ]);
    // One path fewer leaves room; without a read-only root there is no tmpfs to count.
    await expect(
      sut.resolve({ image: 'x/y:1' }, { memoryMB: 512 }, { readOnlyRootfs: true, tmpfs: ['/tmp'] }),
    ).resolves.toBeDefined();
    await expect(sut.resolve({ image: 'x/y:1' }, { memoryMB: 64 }, {})).resolves.toBeDefined();
  });

  it.each([
    [{ cpuShares: 1 }, /limits.cpuShares must be an integer from 2 to 262144, got 1/],
    [{ cpuQuota: 500 }, /limits.cpuQuota must be an integer from 1000 to 1600000 \(16 CPUs\)/],
    [{ memoryMB: 0 }, /limits.memoryMB must be an integer from 6 to 32768, got 0/],
    [{ memoryMB: 1.5 }, /limits.memoryMB must be an integer/],
    [{ memoryMB: 40000 }, /limits.memoryMB must be an integer from 6 to 32768, got 40000/],
    [{ pidsLimit: -1 }, /limits.pidsLimit/],
    [{ diskGB: 1000 }, /limits.diskGB must be an integer from 1 to 500/],
  ])('refuses the limits %j before the engine sees them', async (limits, message) => {
    const problems = await problemsOf(() => builder().resolve({ image: 'x/y:1' }, limits));
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(message);
  });

  it('reads the ceilings from configuration', async () => {
    await expect(
      builder({ LIMIT_MAX_MEMORY_MB: '128', DEFAULT_MEMORY_MB: '64' }).resolve({ image: 'x/y:1' }, { memoryMB: 129 }),
    ).rejects.toThrow(/memoryMB must be an integer from 6 to 128/);
  });

  it('loosens the profile only where configuration allows it', async () => {
    const strict = builder();
    const problems = await problemsOf(() =>
      strict.resolve(
        { image: 'x/y:1', user: '1000' },
        {},
        { capAdd: ['NET_ADMIN'], securityOpt: ['seccomp=unconfined'], binds: [`${cache}/npm:/cache`] },
      ),
    );
    expect(problems).toEqual([
      expect.stringMatching(/security.capAdd NET_ADMIN is not allowed \(allowed: none/),
      expect.stringMatching(/security.securityOpt seccomp=unconfined is not allowed/),
      expect.stringMatching(
        /security.binds .*\/npm:\/cache is not allowed.*SECURITY_ALLOWED_BIND_MOUNTS \(now: none\)/,
      ),
    ]);
    const loose = builder({
      SECURITY_ALLOWED_CAPABILITIES: 'CHOWN,NET_BIND_SERVICE',
      SECURITY_ALLOWED_SECURITY_OPTS: 'apparmor=runner',
      SECURITY_ALLOWED_BIND_MOUNTS: cache,
    });
    const request = { image: 'x/y:1', user: '1000:1000' };
    const resolved = await loose.resolve(
      request,
      {},
      { capAdd: ['cap_chown'], securityOpt: ['apparmor=runner'], binds: [`${cache}/npm:/cache:ro`] },
    );
    expect(resolved.security).toMatchObject({
      capDrop: ['ALL'],
      capAdd: ['CHOWN'],
      securityOpt: ['no-new-privileges', 'apparmor=runner'],
      binds: [`${cache}/npm:/cache:ro`],
    });
    const spec = loose.build(identity, request, resolved.limits, resolved.security);
    expect(spec.hostConfig).not.toHaveProperty('Binds');
    expect(spec.hostConfig.Mounts).toEqual([
      { Type: 'bind', Source: `${cache}/npm`, Target: '/cache', ReadOnly: true, BindOptions: { NonRecursive: true } },
    ]);
  });

  it('refuses usernsMode host with NOT_PERMITTED naming SECURITY_ALLOW_USERNS_HOST, unless it is set', async () => {
    const refusal = await builder()
      .resolve({ image: 'x/y:1' }, {}, { usernsMode: 'host' })
      .then(
        () => null,
        (error: unknown) => error,
      );
    expect(DomainError.is(refusal, ErrorCode.NotPermitted)).toBe(true);
    expect((refusal as DomainError).details).toEqual({
      field: 'security.usernsMode',
      setting: 'SECURITY_ALLOW_USERNS_HOST',
    });
    const allowed = await builder({ SECURITY_ALLOW_USERNS_HOST: 'true' }).resolve(
      { image: 'x/y:1' },
      {},
      { usernsMode: 'host' },
    );
    expect(allowed.security.usernsMode).toBe('host');
  });

  it('refuses a bad image, env name, reserved label or relative working dir, all at once', async () => {
    const problems = await problemsOf(() =>
      builder().resolve({
        image: 'UPPER case!',
        env: { 'BAD-NAME': 'x' },
        labels: { 'runnerhub.managed': 'false' },
        workingDir: 'relative',
      }),
    );
    expect(problems).toHaveLength(4);
  });

  it('gives the standard and docker profiles the capabilities sudo needs, without no-new-privileges', async () => {
    const sut = builder();
    const strict = (await sut.resolve({ image: 'x/y:1' }, {}, { profile: 'strict' })).security;
    expect(strict).toMatchObject({ profile: 'strict', capAdd: [], securityOpt: ['no-new-privileges'] });
    for (const profile of ['standard', 'docker'] as const) {
      const resolved = await sut.resolve({ image: 'x/y:1' }, {}, { profile });
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

  it('passes the command, entrypoint and user of an image family through to the engine', async () => {
    const sut = builder();
    const request = { image: 'x/y:1', command: ['/home/runner/run.sh'], entrypoint: ['/init'], user: '1001:121' };
    const resolved = await sut.resolve(request);
    expect(sut.build(identity, request, resolved.limits, resolved.security)).toMatchObject({
      cmd: ['/home/runner/run.sh'],
      entrypoint: ['/init'],
      user: '1001:121',
    });
  });
});
