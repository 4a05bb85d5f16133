import { realpath } from 'node:fs/promises';
import { isAbsolute, resolve as resolvePath } from 'node:path';
import { AppConfig } from '@app/common';
import type { BindMountSpec } from '@app/docker';
import { Injectable } from '@nestjs/common';

/** One refusal, in the shape every container request problem has. */
export interface BindProblem {
  field: string;
  message: string;
}

/** A uid, or uid:gid, both numeric: a name may map to root in the image's /etc/passwd. */
const NUMERIC_USER = /^(\d+)(?::(\d+))?$/;

/**
 * Host bind mounts of containers made through the API, checked against SECURITY_ALLOWED_BIND_MOUNTS and made as
 * safe as a host path can be:
 *
 * - Each host path is resolved with realpath (symlinks followed all the way, nested ones included) and the RESOLVED
 *   path must lie under a prefix, itself resolved the same way. A symlink planted inside an allowed directory that
 *   points at `/` therefore resolves to `/` and is refused. `..` is refused outright, as are relative paths and paths
 *   that do not exist (the engine would create a missing one, as root).
 * - What the engine mounts is the resolved path, not the one asked for. A symlink swapped in after the check can then
 *   only redirect a path component of the resolved path itself: that needs write access to the host directory, which
 *   no container has, as every bind is read-only (below). This is the limit of the check (time of check to time of
 *   use): anyone who can write the host directories under the prefix can still race it, so an operator allows only
 *   directories that nobody untrusted writes on the host.
 * - Every bind is read-only (no mode is taken from the caller) and non-recursive, so a container can plant no
 *   symlink for a later container, and mounts under the allowed path are not carried along.
 * - The container must run as a numeric non-root user: root in the container owns root's files on the host.
 *
 * Paths are resolved in RunnerHub's own view of the filesystem. Running on the host, that is the engine's view. When
 * RunnerHub itself runs in a container, the paths are its container's view: mount the allowed directories into
 * RunnerHub at the same path as on the host, or the check and the mount name different directories.
 */
@Injectable()
export class HostBindMounts {
  constructor(private readonly config: AppConfig) {}

  /**
   * The binds as they are mounted (`<resolved host path>:<container path>:ro`), or every problem with them. `user` is
   * the container's `config.user`.
   */
  async resolve(
    binds: readonly string[],
    user: string | undefined,
  ): Promise<{ binds: string[]; problems: BindProblem[] }> {
    if (binds.length === 0) return { binds: [], problems: [] };
    const problems: BindProblem[] = [];
    const userProblem = checkUser(user);
    if (userProblem) problems.push(userProblem);
    const prefixes = await this.allowedPrefixes();
    const resolved: string[] = [];
    for (const bind of binds) {
      const outcome = await this.resolveOne(bind, prefixes);
      if (typeof outcome === 'string') resolved.push(outcome);
      else problems.push(outcome);
    }
    return { binds: problems.length === 0 ? resolved : [], problems };
  }

  private async resolveOne(bind: string, prefixes: AllowedPrefix[]): Promise<string | BindProblem> {
    const refuse = (why: string): BindProblem => ({ field: 'security.binds', message: `${bind} ${why}` });
    const parts = bind.split(':');
    const [hostPath, containerPath, mode] = parts;
    if (parts.length < 2 || parts.length > 3) {
      return refuse('must be host-path:container-path (absolute paths without ":"; binds are always read-only)');
    }
    if (mode !== undefined && mode !== 'ro') {
      return refuse(`must not ask for mode "${mode}": binds are always read-only, leave the mode out`);
    }
    if (!isAbsolute(hostPath) || !isAbsolute(containerPath))
      return refuse('must have absolute host and container paths');
    if (hasDotDot(hostPath) || hasDotDot(containerPath)) return refuse('must not contain ".." path segments');
    if (hostPath.includes('\0') || containerPath.includes('\0')) return refuse('must not contain NUL characters');
    const notAllowed = (shown = '') =>
      refuse(
        `is not allowed${shown}: host paths must lie under SECURITY_ALLOWED_BIND_MOUNTS ` +
          `(now: ${this.config.containers.allowedBindMountPrefixes.join(', ') || 'none'})`,
      );
    // Nothing outside the prefixes is looked up at all, so a refusal says nothing of what exists on the host.
    const asked = resolvePath(hostPath);
    if (!prefixes.some((prefix) => isWithin(asked, prefix.raw) || isWithin(asked, prefix.real))) return notAllowed();
    let real: string;
    try {
      real = await realpath(hostPath);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      return refuse(
        code === 'ENOENT' || code === 'ENOTDIR'
          ? 'names a host path that does not exist'
          : `names a host path that cannot be resolved (${code ?? 'unknown error'})`,
      );
    }
    if (!prefixes.some((prefix) => isWithin(real, prefix.real))) {
      return notAllowed(real === asked ? '' : ` (it resolves to ${real})`);
    }
    return `${real}:${resolvePath(containerPath)}:ro`;
  }

  /** The allowed prefixes as configured and resolved as the paths are (one that does not exist allows nothing). */
  private async allowedPrefixes(): Promise<AllowedPrefix[]> {
    return Promise.all(
      this.config.containers.allowedBindMountPrefixes.map(async (prefix) => {
        const raw = resolvePath(prefix);
        return { raw, real: await realpath(raw).catch(() => raw) };
      }),
    );
  }
}

interface AllowedPrefix {
  raw: string;
  real: string;
}

/** The engine's spelling of binds resolved by HostBindMounts: read-only, and without the mounts below them. */
export function bindMountsOf(binds: readonly string[]): BindMountSpec[] {
  return binds.map((bind) => {
    const [source, target] = bind.split(':');
    return { Type: 'bind', Source: source, Target: target, ReadOnly: true, BindOptions: { NonRecursive: true } };
  });
}

function checkUser(user: string | undefined): BindProblem | null {
  const match = user === undefined ? null : NUMERIC_USER.exec(user);
  const root = match !== null && (Number(match[1]) === 0 || (match[2] !== undefined && Number(match[2]) === 0));
  if (match && !root) return null;
  return {
    field: 'config.user',
    message:
      `${user === undefined ? 'must be set' : `must not be ${user}`} when binds are given: a numeric uid or uid:gid ` +
      'other than 0 (root, or a user name that may map to root, would own what root owns on the host)',
  };
}

function hasDotDot(path: string): boolean {
  return path.split('/').includes('..');
}

function isWithin(path: string, prefix: string): boolean {
  if (prefix === '/') return true;
  return path === prefix || path.startsWith(`${prefix.replace(/\/+$/, '')}/`);
}
