/**
 * Machine-readable codes of every failure RunnerHub reports. The HTTP layer maps each one to a status with an
 * exhaustive switch, so adding a code here without deciding its status fails the build.
 */
export enum ErrorCode {
  /** Input that breaks a documented rule; the message says which field and what to send instead. */
  ValidationFailed = 'VALIDATION_FAILED',
  /** The thing named by an id does not exist (or no longer exists). */
  NotFound = 'NOT_FOUND',
  /** The request cannot be honoured in the current state of the target (for example a name already in use). */
  Conflict = 'CONFLICT',
  /** A lifecycle transition the state table forbids from the current state. */
  IllegalTransition = 'ILLEGAL_TRANSITION',
  /** The image a container needs is not present on the engine (and no registry may be assumed). */
  ImageNotFound = 'IMAGE_NOT_FOUND',
  /**
   * Pulling an image failed: the registry refused the credentials, has no such image or tag, or could not be
   * reached. `details.reason` says which (`unauthorized`, `not-found`, `unreachable`, `failed`) and
   * `details.registry` names the registry; the message carries the registry's own answer.
   */
  ImagePullFailed = 'IMAGE_PULL_FAILED',
  /** A limit or option the engine cannot honour here, such as a disk quota on a storage driver without one. */
  UnsupportedByEngine = 'UNSUPPORTED_BY_ENGINE',
  /** The engine answered, but refused the request for a reason of its own. */
  EngineRejected = 'ENGINE_REJECTED',
  /** The engine does not answer: socket missing, connection refused or reset, or no reply in time. */
  EngineUnavailable = 'ENGINE_UNAVAILABLE',
  /** The database does not answer. */
  DatabaseUnavailable = 'DATABASE_UNAVAILABLE',
  /** An operation that has its own deadline (an exec, a stats sample) did not finish in time. */
  Timeout = 'TIMEOUT',
  /** No GitHub credentials are configured, so no runner can be registered (set GITHUB_TOKEN or the GitHub App). */
  GitHubNotConfigured = 'GITHUB_NOT_CONFIGURED',
  /** GitHub answered with an error of its own (bad credentials, missing permission, unknown repository). */
  GitHubRejected = 'GITHUB_REJECTED',
  /** GitHub did not answer in time or answered with a server error. */
  GitHubUnavailable = 'GITHUB_UNAVAILABLE',
  /** The job asks for runner labels this RunnerHub does not serve (RUNNER_LABELS). */
  LabelsNotServed = 'LABELS_NOT_SERVED',
  /**
   * RunnerHub already holds MAX_CONCURRENT_CONTAINERS containers (jobs and API containers alike): try again once one
   * has finished, or raise the cap.
   */
  CapacityExhausted = 'CAPACITY_EXHAUSTED',
  /**
   * The operator's policy does not allow this: an image not in RUNNER_IMAGES_ALLOWED, a repository not in
   * REPOSITORIES_ALLOWED, a loosening the configuration does not enable. `details.setting` names the variable.
   */
  NotPermitted = 'NOT_PERMITTED',
}
