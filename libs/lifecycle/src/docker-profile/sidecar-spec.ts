import { DEFAULT_DIND_IMAGE, RunnerHubLabel } from '@app/common';
import { DAEMON_SIDECAR_TYPE } from '@app/docker';
import type { DaemonSidecarSpec, VolumeMountSpec } from '@app/docker';

/**
 * What the `docker` runner profile's per-job daemon looks like: pure functions from a unit and the options to the
 * engine spec of the daemon container and to what the runner container needs to use it. No engine calls here.
 */

/** Where the daemon's socket lives, in both containers: the runner finds it through DOCKER_HOST. */
export const DAEMON_SOCKET_DIR = '/var/run';
export const DOCKER_HOST_VALUE = 'unix:///var/run/docker.sock';
/**
 * The runner's work directory, shared at the same path in both containers: `container:` jobs and Docker actions
 * bind-mount paths under it, and the daemon resolves those paths in its own filesystem.
 */
export const RUNNER_WORK_DIR = '/home/runner/_work';
/**
 * The runner's externals (its node, used inside `container:` jobs): the runner mounts /home/runner/externals into the
 * job container, and the daemon resolves that path in its own filesystem, as for the work directory. The volume is
 * empty until the runner container is created: the engine then fills it from the runner image (copy on first use).
 */
export const RUNNER_EXTERNALS_DIR = '/home/runner/externals';
/** The nested daemon's images, containers and layers: a volume, so that they go with the unit and never fill /. */
export const DAEMON_DATA_DIR = '/var/lib/docker';

/** The unit's volumes, by role; their names are `<unit name>-<role>`. */
export const SIDECAR_VOLUME_ROLES = ['run', 'work', 'externals', 'data'] as const;
export type SidecarVolumeRole = (typeof SIDECAR_VOLUME_ROLES)[number];
const MOUNT_POINTS: Record<SidecarVolumeRole, string> = {
  run: DAEMON_SOCKET_DIR,
  work: RUNNER_WORK_DIR,
  externals: RUNNER_EXTERNALS_DIR,
  data: DAEMON_DATA_DIR,
};
/** The roles the runner container mounts too (the daemon's data stays the daemon's). */
const RUNNER_ROLES: readonly SidecarVolumeRole[] = ['run', 'work', 'externals'];

/** Labels that tie a unit's containers and volumes together; `runnerhub.unit` carries the runner's record id. */
export const SidecarLabel = {
  Unit: 'runnerhub.unit',
  Volume: 'runnerhub.volume',
} as const;

/**
 * How the daemon container is allowed to do its work:
 * - `privileged`: `Privileged: true`, as actions-runner-controller runs docker:dind. Works on ordinary hosts.
 * - `capabilities`: for hosts where privileged cannot start (measured here: CAP_SYS_RESOURCE is not in the host's
 *   capability bounding set, and privileged asks for every capability: "unable to apply caps: operation not
 *   permitted"). Every capability but SYS_RESOURCE, no seccomp or AppArmor profile, the host's cgroup tree
 *   writable. Neither mode is a security boundary: both give the job root on the host.
 */
export type SidecarMode = 'privileged' | 'capabilities';

export interface DockerDaemonSidecarOptions {
  /** The daemon image: docker:<version>-dind in production (DIND_IMAGE), runnerhub-test/dind:1 in tests. */
  image: string;
  /** Whether configuration says the host allows privileged containers (DIND_PRIVILEGED); see SidecarMode. */
  privileged: boolean;
  /** Memory limit of the daemon container, which holds everything the job runs through Docker. Bytes. */
  memoryBytes: number;
  /** Processes and threads of the daemon container and everything it runs. */
  pidsLimit: number;
  /**
   * NAT and the default bridge for the nested containers (`--iptables`). Needs iptables in the image (docker:dind has
   * it) and the host's netfilter modules. False: `--iptables=false --bridge=none`, nested containers get no network
   * by default and user networks reach nothing outside (enough for `--network none`; what the test image does).
   */
  iptables: boolean;
  /** `--storage-driver`; unset lets dockerd choose (overlay2 on the data volume, measured here). */
  storageDriver?: string;
  /** Group owning the daemon socket (`--group`): 123 is `docker` in the official runner image, whose user is in it. */
  socketGroup: string;
  /** `uid:gid` given the shared work directory: 1001:123 is the official runner image's `runner` user. */
  workOwner: string;
  /** How long the daemon may take to answer after its container started. */
  readyTimeoutMs: number;
  /** Between two readiness probes. */
  readyPollMs: number;
  /** Grace given to the daemon on release before it is killed; 0 kills at once (nothing in the unit is kept). */
  stopTimeoutSeconds: number;
  /** Further dockerd flags, e.g. `--mtu=1400` or `--registry-mirror=...`, appended as given. */
  extraDaemonArgs: string[];
}

export const DEFAULT_DOCKER_DAEMON_SIDECAR_OPTIONS: DockerDaemonSidecarOptions = {
  image: DEFAULT_DIND_IMAGE,
  privileged: true,
  memoryBytes: 4 * 1024 * 1024 * 1024,
  pidsLimit: 8192,
  iptables: true,
  socketGroup: '123',
  workOwner: '1001:123',
  readyTimeoutMs: 60_000,
  readyPollMs: 100,
  stopTimeoutSeconds: 0,
  extraDaemonArgs: [],
};

/** Injection token of a Partial<DockerDaemonSidecarOptions>; missing keys take the defaults above. */
export const DOCKER_DAEMON_SIDECAR_OPTIONS = Symbol('DOCKER_DAEMON_SIDECAR_OPTIONS');

/** One runner's daemon and volumes, made and removed together. */
export interface SidecarUnit {
  /** The runner container's record id: every part of the unit carries it as `runnerhub.unit`. */
  recordId: string;
  /** The runner container's name; the daemon is `<name>-dind`, the volumes `<name>-run`, `<name>-work`, ... */
  name: string;
  runnerId?: string | null;
  jobId?: string | null;
  repository?: string | null;
  /**
   * The network of the unit. The runner joins the daemon's network namespace and cannot have one of its own, so the
   * network the runner would have had goes here. Unset: the engine's default.
   */
  networkMode?: string;
  /** Per-unit limits over the options' defaults. */
  limits?: { memoryBytes?: number; pidsLimit?: number };
  /** Extra labels on the daemon and the volumes (a test's own, say); RunnerHub's labels win over them. */
  labels?: Record<string, string>;
}

export function sidecarContainerName(unit: Pick<SidecarUnit, 'name'>): string {
  return `${unit.name}-dind`;
}

export function sidecarVolumeName(unit: Pick<SidecarUnit, 'name'>, role: SidecarVolumeRole): string {
  return `${unit.name}-${role}`;
}

/** The labels every part of the unit carries. */
export function unitLabels(unit: SidecarUnit): Record<string, string> {
  return {
    ...unit.labels,
    [RunnerHubLabel.Managed]: 'true',
    [SidecarLabel.Unit]: unit.recordId,
    ...(unit.runnerId ? { [RunnerHubLabel.Runner]: unit.runnerId } : {}),
    ...(unit.jobId ? { [RunnerHubLabel.Job]: unit.jobId } : {}),
    ...(unit.repository ? { [RunnerHubLabel.Repository]: unit.repository } : {}),
  };
}

export function volumeLabels(unit: SidecarUnit, role: SidecarVolumeRole): Record<string, string> {
  return { ...unitLabels(unit), [SidecarLabel.Volume]: role };
}

/** The daemon's command line. It starts with `dockerd`, so docker:dind's entrypoint adds nothing of its own. */
export function daemonArgs(options: DockerDaemonSidecarOptions, mode: SidecarMode): string[] {
  return [
    'dockerd',
    // The socket only. With no arguments docker:dind would also listen on TCP 2375/2376, and that port would be open
    // in the network namespace the runner shares, to anything that reaches it.
    `--host=${DOCKER_HOST_VALUE}`,
    // The runner runs as a user (uid 1001) in group docker (123), not as root: the socket must be its group's.
    `--group=${options.socketGroup}`,
    ...(options.iptables ? [] : ['--iptables=false', '--bridge=none']),
    ...(options.storageDriver ? [`--storage-driver=${options.storageDriver}`] : []),
    // capabilities mode sees the host's whole cgroup tree (see sidecarHostConfig), where dockerd's default parent
    // (/docker) would put the nested containers beside this one, outside its memory and pids limits, and leave their
    // cgroups behind when the unit is killed (both measured). A relative parent is taken from the caller's own
    // cgroup: nested containers land under the daemon container's cgroup, inside its limits, and go with it.
    // Privileged mode needs no flag: there runc mounts the container's own cgroup at /sys/fs/cgroup.
    ...(mode === 'capabilities' ? ['--cgroup-parent=runnerhub-nested'] : []),
    ...options.extraDaemonArgs,
  ];
}

/** Every mount of the daemon container: all four volumes. */
export function sidecarMounts(unit: SidecarUnit): VolumeMountSpec[] {
  return SIDECAR_VOLUME_ROLES.map((role) => ({
    Type: 'volume',
    Source: sidecarVolumeName(unit, role),
    Target: MOUNT_POINTS[role],
  }));
}

/** What the runner container mounts: the socket, work and externals volumes, at the same paths as the daemon. */
export function runnerMounts(unit: SidecarUnit): VolumeMountSpec[] {
  return RUNNER_ROLES.map((role) => ({
    Type: 'volume',
    Source: sidecarVolumeName(unit, role),
    Target: MOUNT_POINTS[role],
  }));
}

export function sidecarSpec(
  unit: SidecarUnit,
  options: DockerDaemonSidecarOptions,
  mode: SidecarMode,
): DaemonSidecarSpec {
  const memory = unit.limits?.memoryBytes ?? options.memoryBytes;
  return {
    name: sidecarContainerName(unit),
    image: options.image,
    cmd: daemonArgs(options, mode),
    // Empty: docker:dind makes TLS certificates and a TCP listener otherwise (not reached with `dockerd` first, but
    // kept off should an image's entrypoint differ).
    env: ['DOCKER_TLS_CERTDIR='],
    labels: { ...unitLabels(unit), [RunnerHubLabel.Type]: DAEMON_SIDECAR_TYPE },
    // dockerd stops its containers on SIGTERM; release() decides how long it may take (stopTimeoutSeconds).
    stopSignal: 'SIGTERM',
    hostConfig: {
      ...(mode === 'privileged'
        ? { Privileged: true }
        : {
            // Every capability but the one the host cannot grant: dockerd and runc need mount, namespaces, network
            // administration, devices, and give their containers the default set (which they must hold themselves).
            CapAdd: ['ALL'],
            CapDrop: ['SYS_RESOURCE'],
            SecurityOpt: [
              // The default seccomp profile refuses mount, unshare, pivot_root and keyctl, which runc needs.
              'seccomp=unconfined',
              // docker-default forbids mount where AppArmor is on (not on these machines; on Ubuntu hosts it is).
              'apparmor=unconfined',
            ],
            // Unprivileged, the engine mounts cgroup v1 read-only: dockerd could not make its containers' cgroups.
            // See daemonArgs for where they go in this tree.
            Binds: ['/sys/fs/cgroup:/sys/fs/cgroup:rw'],
          }),
      Mounts: sidecarMounts(unit),
      Memory: memory,
      // No swap: the limit is the limit.
      MemorySwap: memory,
      PidsLimit: unit.limits?.pidsLimit ?? options.pidsLimit,
      // Reaps dockerd's orphans (shims whose parent died) and forwards SIGTERM to dockerd.
      Init: true,
      ...(unit.networkMode ? { NetworkMode: unit.networkMode } : {}),
    },
  };
}

/** What the runner container needs to use its daemon. */
export interface SidecarAttachment {
  recordId: string;
  sidecarEngineId: string;
  sidecarName: string;
  mode: SidecarMode;
  /** HostConfig.NetworkMode of the runner: the daemon's network namespace (so published ports are on localhost). */
  networkMode: string;
  /** HostConfig.Mounts of the runner. */
  mounts: VolumeMountSpec[];
  /** Environment of the runner. */
  env: { DOCKER_HOST: string };
  /** Every volume of the unit. */
  volumes: string[];
  /** The nested daemon's version, as it answered the readiness probe. */
  daemonVersion: string;
  /** From the daemon container's start to its first answer. */
  readyAfterMs: number;
}

export function attachmentFor(
  unit: SidecarUnit,
  sidecar: { engineId: string; mode: SidecarMode; daemonVersion: string; readyAfterMs: number },
): SidecarAttachment {
  return {
    recordId: unit.recordId,
    sidecarEngineId: sidecar.engineId,
    sidecarName: sidecarContainerName(unit),
    mode: sidecar.mode,
    networkMode: `container:${sidecar.engineId}`,
    mounts: runnerMounts(unit),
    env: { DOCKER_HOST: DOCKER_HOST_VALUE },
    volumes: SIDECAR_VOLUME_ROLES.map((role) => sidecarVolumeName(unit, role)),
    daemonVersion: sidecar.daemonVersion,
    readyAfterMs: sidecar.readyAfterMs,
  };
}

/** The engine's answer when privileged asks for a capability the host's bounding set lacks (measured here). */
export function isPrivilegedRefusal(error: unknown): boolean {
  const engineMessage = (error as { details?: { engineMessage?: unknown } } | null)?.details?.engineMessage;
  const text = [
    error instanceof Error ? error.message : String(error),
    typeof engineMessage === 'string' ? engineMessage : '',
  ].join(' ');
  return /unable to apply caps|apply caps.*operation not permitted/i.test(text);
}
