/** A GitHub App installation token and the moment GitHub said it stops working (epoch ms). */
export interface InstallationToken {
  token: string;
  expiresAt: number;
}

/**
 * How long before its expiry an installation token is replaced. GitHub issues them for an hour; five minutes leave
 * room for a slow call and for clock skew between RunnerHub and GitHub, which `expires_at` is measured in.
 */
export const DEFAULT_TOKEN_REFRESH_MARGIN_MS = 5 * 60_000;

/**
 * Keeps one installation token and asks for a new one only when fewer than `marginMs` remain of its life.
 *
 * Why not rely on @octokit/auth-app's own cache: auth-app 6 keeps a token for a fixed 59 minutes from when it was
 * issued and never reads `expires_at`, so a token that GitHub issues for less (or a clock that drifts) would be
 * served after it expired. This cache goes by `expires_at`, and `issue` always asks auth-app for a fresh token.
 */
export class InstallationTokenCache {
  private current: InstallationToken | undefined;
  private pending: Promise<InstallationToken> | undefined;

  constructor(
    private readonly issue: () => Promise<InstallationToken>,
    private readonly marginMs: number = DEFAULT_TOKEN_REFRESH_MARGIN_MS,
    private readonly now: () => number = Date.now,
  ) {}

  /** A token with more than the margin left; callers arriving while one is being issued share that one call. */
  async token(): Promise<string> {
    const current = this.current;
    if (current && current.expiresAt - this.now() > this.marginMs) return current.token;
    this.pending ??= this.renew();
    return (await this.pending).token;
  }

  /** GitHub refused this token (revoked, or the installation changed): the next call asks for a new one. */
  discard(token: string): void {
    if (this.current?.token === token) this.current = undefined;
  }

  private async renew(): Promise<InstallationToken> {
    try {
      const fresh = await this.issue();
      this.current = fresh;
      return fresh;
    } finally {
      // Failed or not, the next caller decides afresh: a failed issue is not remembered, so it is tried again.
      this.pending = undefined;
    }
  }
}
