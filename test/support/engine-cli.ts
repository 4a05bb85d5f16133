import { execFileSync } from 'node:child_process';

/**
 * The docker CLI, as an operator would use it: tests check what RunnerHub did through a path that does not go
 * through RunnerHub's own engine client.
 */
export function docker(args: string[], { host }: { host?: string } = {}): string {
  return execFileSync('docker', args, {
    encoding: 'utf8',
    timeout: 30_000,
    env: { ...process.env, ...(host ? { DOCKER_HOST: host } : {}) },
    stdio: ['ignore', 'pipe', 'pipe'],
  }).trim();
}

export function inspectContainer(id: string, options: { host?: string } = {}): DockerInspect | null {
  try {
    return (JSON.parse(docker(['inspect', id], options)) as DockerInspect[])[0];
  } catch {
    return null;
  }
}

/** Removes every container carrying `label` (key=value); suites call it in afterAll, whatever happened. */
export function removeLabelled(label: string, options: { host?: string } = {}): void {
  const ids = docker(['ps', '-aq', '--filter', `label=${label}`], options)
    .split('\n')
    .filter(Boolean);
  if (ids.length > 0) docker(['rm', '-f', ...ids], options);
}

export interface DockerInspect {
  Id: string;
  Name: string;
  /** ISO 8601 */
  Created: string;
  State: { Status: string; Running: boolean; ExitCode: number; OOMKilled: boolean };
  Config: { Labels: Record<string, string>; Env: string[]; Image: string; User: string; WorkingDir: string };
  HostConfig: {
    CpuShares: number;
    CpuQuota: number;
    CpuPeriod: number;
    Memory: number;
    MemorySwap: number;
    PidsLimit: number;
    CapDrop: string[] | null;
    CapAdd: string[] | null;
    SecurityOpt: string[] | null;
    Privileged: boolean;
    ReadonlyRootfs: boolean;
    Tmpfs: Record<string, string> | null;
    NetworkMode: string;
    Binds: string[] | null;
    Init: boolean | null;
  };
  /** What is mounted, as the engine resolved it. */
  Mounts: Array<{ Type: string; Source: string; Destination: string; RW: boolean }>;
}
