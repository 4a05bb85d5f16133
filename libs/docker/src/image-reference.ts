/** Docker Hub, as RegistryCredential.registry and every message name it. */
export const DOCKER_HUB = 'docker.io';

/** An image reference taken apart the way the docker CLI and the engine read it. */
export interface ImageReference {
  /** Host (and port) of the registry: `ghcr.io`, `127.0.0.1:5000`, `docker.io`. */
  registry: string;
  /** The repository path inside the registry: `actions/actions-runner`, `library/ubuntu` on Docker Hub. */
  repository: string;
  /** `2.329.0`; `latest` when the reference names neither a tag nor a digest. Null for a digest-only reference. */
  tag: string | null;
  /** `sha256:...` when the reference pins one. */
  digest: string | null;
}

/**
 * The docker rule: the first path component is a registry host when it has a dot or a port, or is `localhost`, and
 * something follows it; otherwise the image is on Docker Hub, where a one-component name lives under `library/`.
 * Not a validator: the engine still rejects what is malformed, with its own words.
 */
export function parseImageReference(image: string): ImageReference {
  let rest = image.trim();
  let digest: string | null = null;
  const at = rest.indexOf('@');
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
  }
  let tag: string | null = null;
  const colon = rest.lastIndexOf(':');
  if (colon > rest.lastIndexOf('/')) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
  }
  if (tag === null && digest === null) tag = 'latest';

  const slash = rest.indexOf('/');
  const first = slash >= 0 ? rest.slice(0, slash) : '';
  const hasRegistry = slash >= 0 && (first.includes('.') || first.includes(':') || first === 'localhost');
  const registry = hasRegistry ? normaliseRegistryHost(first) : DOCKER_HUB;
  let repository = hasRegistry ? rest.slice(slash + 1) : rest;
  if (registry === DOCKER_HUB && !repository.includes('/')) repository = `library/${repository}`;
  return { registry, repository, tag, digest };
}

/** The registry host a reference pulls from: `ghcr.io/actions/actions-runner:2.329.0` -> `ghcr.io`, `ubuntu` -> `docker.io`. */
export function registryOf(image: string): string {
  return parseImageReference(image).registry;
}

/** One spelling per image (`ubuntu` and `docker.io/library/ubuntu:latest` are one), for keys and comparisons. */
export function canonicalReference(image: string): string {
  const { registry, repository, tag, digest } = parseImageReference(image);
  return `${registry}/${repository}${tag !== null ? `:${tag}` : ''}${digest !== null ? `@${digest}` : ''}`;
}

/**
 * The digest of `image`'s repository among an image's RepoDigests (`127.0.0.1:5000/x/y@sha256:...`, `ubuntu@sha256:...`
 * for Docker Hub): one image can be known under several repositories, and only the pulled one's digest is wanted.
 */
export function repoDigestFor(image: string, repoDigests: readonly string[] | null | undefined): string | null {
  const wanted = parseImageReference(image);
  for (const entry of repoDigests ?? []) {
    const candidate = parseImageReference(entry);
    if (candidate.registry === wanted.registry && candidate.repository === wanted.repository && candidate.digest)
      return candidate.digest;
  }
  return null;
}

/** `index.docker.io` and `registry-1.docker.io` (what `docker login` and the engine write for Docker Hub) are `docker.io`. */
export function normaliseRegistryHost(host: string): string {
  const bare = host
    .replace(/^https?:\/\//, '')
    .replace(/\/.*$/, '')
    .toLowerCase();
  return bare === 'index.docker.io' || bare === 'registry-1.docker.io' ? DOCKER_HUB : bare;
}
