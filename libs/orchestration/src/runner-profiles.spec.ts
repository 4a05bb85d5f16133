import { loadAppConfig } from '@app/common';
import { RunnerProfiles } from './runner-profiles';

describe(RunnerProfiles.name, () => {
  const sut = (env: Record<string, string>) => new RunnerProfiles(loadAppConfig({ NODE_ENV: 'test', ...env }));

  it('gives the default profile when no label is mapped', () => {
    expect(sut({}).choose(['self-hosted', 'linux'])).toEqual({
      profile: 'strict',
      reason: 'the default profile (RUNNER_DEFAULT_PROFILE)',
    });
  });

  it('gives the loosest profile any of the labels maps to, naming the label', () => {
    const profiles = sut({ RUNNER_PROFILES: 'docker:docker,sudo:standard' });
    expect(profiles.choose(['self-hosted', 'SUDO'])).toEqual({
      profile: 'standard',
      reason: 'label SUDO maps to standard (RUNNER_PROFILES)',
    });
    expect(profiles.choose(['sudo', 'docker']).profile).toBe('docker');
    expect(profiles.choose(['docker', 'sudo']).profile).toBe('docker');
  });

  it('never tightens below a looser default', () => {
    expect(sut({ RUNNER_DEFAULT_PROFILE: 'standard', RUNNER_PROFILES: 'x:strict' }).choose(['x']).profile).toBe(
      'standard',
    );
  });
});
