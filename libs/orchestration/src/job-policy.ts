import { AppConfig, DomainError, ErrorCode } from '@app/common';
import { canonicalReference, parseImageReference } from '@app/docker';
import { Injectable } from '@nestjs/common';

/**
 * Who may be handed a runner credential: a job names a repository (the runner registers there) and maybe an image
 * (the runner credential is put into it). RUNNER_IMAGES_ALLOWED and REPOSITORIES_ALLOWED bound both, whichever way
 * the job came in (the API or GitHub's webhook), so that an operator key cannot give a credential of the GitHub App
 * to an image of its choosing, or to a repository the App happens to cover but RunnerHub is not meant to serve.
 */
@Injectable()
export class JobPolicy {
  private readonly images: RegExp[];
  private readonly repositories: RegExp[];

  constructor(private readonly config: AppConfig) {
    this.images = config.jobs.imagesAllowed.map(imagePattern);
    this.repositories = config.jobs.repositoriesAllowed.map(repositoryPattern);
  }

  /** Why the job may not be served, or null when it may. */
  refusal(request: { repository: string; image?: string | null }): DomainError | null {
    return this.repositoryRefusal(request.repository) ?? (request.image ? this.imageRefusal(request.image) : null);
  }

  /**
   * An image is compared in its canonical spelling (`ubuntu` is `docker.io/library/ubuntu:latest`). RUNNER_IMAGE is
   * always allowed: it is what a job naming no image runs, and the operator chose it.
   */
  private imageRefusal(image: string): DomainError | null {
    const canonical = canonicalReference(image);
    if (canonical === canonicalReference(this.config.runnerImage)) return null;
    if (this.images.some((pattern) => pattern.test(canonical))) return null;
    return new DomainError(
      ErrorCode.NotPermitted,
      `The image ${image} (${canonical}) is not allowed for jobs: RUNNER_IMAGES_ALLOWED allows ` +
        `${this.config.jobs.imagesAllowed.join(', ')}. Leave image out to run RUNNER_IMAGE, or ask the operator to ` +
        `add the image to RUNNER_IMAGES_ALLOWED`,
      { field: 'image', setting: 'RUNNER_IMAGES_ALLOWED', image: canonical },
    );
  }

  /** Empty REPOSITORIES_ALLOWED: every repository the GitHub credential covers (GitHub refuses the others). */
  private repositoryRefusal(repository: string): DomainError | null {
    if (this.repositories.length === 0) return null;
    if (this.repositories.some((pattern) => pattern.test(repository))) return null;
    return new DomainError(
      ErrorCode.NotPermitted,
      `The repository ${repository} is not served by this RunnerHub: REPOSITORIES_ALLOWED allows ` +
        `${this.config.jobs.repositoriesAllowed.join(', ')}`,
      { field: 'repository', setting: 'REPOSITORIES_ALLOWED', repository },
    );
  }
}

/**
 * An image glob as a pattern over canonical references: `*` is any run of characters, `?` one character. A pattern
 * naming no tag means `:latest`, as docker reads it, unless it ends in `*` (`ghcr.io/acme/*` is every image and tag
 * there).
 */
export function imagePattern(glob: string): RegExp {
  const trimmed = glob.trim();
  if (trimmed === '*') return /^.*$/s;
  const { registry, repository, digest } = parseImageReference(trimmed);
  const lastComponent = trimmed.split('@')[0].split('/').pop() ?? '';
  const openEnded = !lastComponent.includes(':') && digest === null && trimmed.endsWith('*');
  return new RegExp(`^${globBody(openEnded ? `${registry}/${repository}` : canonicalReference(trimmed), '.')}$`, 's');
}

/**
 * `owner` (every repository of it) or `owner/name`, each part a glob whose `*` and `?` stay inside the part. GitHub
 * names are case-insensitive, and so is the match.
 */
export function repositoryPattern(glob: string): RegExp {
  const [owner, name] = glob.trim().split('/', 2);
  const namePattern = name === undefined ? '[^/]+' : globBody(name, '[^/]');
  return new RegExp(`^${globBody(owner, '[^/]')}/${namePattern}$`, 'i');
}

/** The glob as regular-expression source: `*` any run of `any`, `?` one, everything else literal. */
function globBody(glob: string, any: string): string {
  return glob
    .split('')
    .map((c) => (c === '*' ? `${any}*` : c === '?' ? any : c.replace(/[.+^${}()|[\]\\]/g, '\\$&')))
    .join('');
}
