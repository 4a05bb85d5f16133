import { AppConfig, RunnerProfileName } from '@app/common';
import { Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';

/** CONTAINER_LABEL_PREFIXES when unset; anything else widens what callers may label containers with. */
const DEFAULT_LABEL_PREFIXES = ['org.opencontainers.', 'app.'];

/**
 * Says at start, as warnings, every way the configuration loosens the locked-down container profile, so that an
 * operator reading the log sees what RunnerHub's containers may do beyond the default, and which setting allowed it.
 * A fully locked-down configuration says so in one line.
 */
@Injectable()
export class SecurityLooseningsReporter implements OnApplicationBootstrap {
  private readonly logger = new Logger(SecurityLooseningsReporter.name);

  constructor(private readonly config: AppConfig) {}

  onApplicationBootstrap(): void {
    const loosenings = this.loosenings();
    if (loosenings.length === 0) {
      this.logger.log('Security loosenings in effect: none (every container gets the locked-down profile)');
      return;
    }
    this.logger.warn(`Security loosenings in effect: ${loosenings.length}`);
    for (const loosening of loosenings) this.logger.warn(`Loosening: ${loosening}`);
  }

  /** Each loosening in effect, naming the setting that allows it. */
  loosenings(): string[] {
    const { containers, runners } = this.config;
    const found: string[] = [];
    if (containers.allowedCapabilities.length > 0) {
      found.push(
        `SECURITY_ALLOWED_CAPABILITIES=${containers.allowedCapabilities.join(',')}: API containers may add these ` +
          'capabilities back',
      );
    }
    if (containers.allowedSecurityOpts.length > 0) {
      found.push(
        `SECURITY_ALLOWED_SECURITY_OPTS=${containers.allowedSecurityOpts.join(',')}: API containers may ask for ` +
          'these security options',
      );
    }
    if (containers.allowedBindMountPrefixes.length > 0) {
      found.push(
        `SECURITY_ALLOWED_BIND_MOUNTS=${containers.allowedBindMountPrefixes.join(',')}: API containers may mount ` +
          'host paths under these, read-only and as a non-root user',
      );
    }
    if (containers.allowUsernsHost) {
      found.push(
        'SECURITY_ALLOW_USERNS_HOST=true: API containers may leave the user-namespace remapping (root inside is root ' +
          'on the host)',
      );
    }
    if (!sameList(containers.labelPrefixes, DEFAULT_LABEL_PREFIXES)) {
      found.push(
        `CONTAINER_LABEL_PREFIXES=${containers.labelPrefixes.join(',')}: callers may set container labels under ` +
          'these prefixes (tools on the engine that act on labels read them too)',
      );
    }
    const profiles = this.profilesInUse();
    for (const [profile, sources] of profiles) {
      found.push(
        `runner profile ${profile} in use (${sources.join(', ')}): its runners keep Docker's default capabilities ` +
          `without no-new-privileges, so sudo works${profile === 'docker' ? ', beside their own Docker daemon' : ''}`,
      );
    }
    if (profiles.has('docker') && runners.dind.privileged) {
      found.push('DIND_PRIVILEGED=true: the Docker daemons of docker-profile runners run privileged');
    }
    return found;
  }

  /** The looser profiles jobs can get, with the settings that give them. */
  private profilesInUse(): Map<RunnerProfileName, string[]> {
    const { defaultProfile, profilesByLabel } = this.config.runners;
    const inUse = new Map<RunnerProfileName, string[]>();
    const add = (profile: RunnerProfileName, source: string) => {
      if (profile === 'strict') return;
      inUse.set(profile, [...(inUse.get(profile) ?? []), source]);
    };
    add(defaultProfile, 'RUNNER_DEFAULT_PROFILE');
    for (const [label, profile] of Object.entries(profilesByLabel)) add(profile, `RUNNER_PROFILES label ${label}`);
    return new Map([...inUse].sort(([a], [b]) => a.localeCompare(b)));
  }
}

function sameList(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((item, index) => item === b[index]);
}
