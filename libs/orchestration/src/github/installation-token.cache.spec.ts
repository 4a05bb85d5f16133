import { InstallationToken, InstallationTokenCache } from './installation-token.cache';

describe(InstallationTokenCache.name, () => {
  const MARGIN = 5 * 60_000;
  let now: number;
  let issued: InstallationToken[];
  let issue: jest.Mock<Promise<InstallationToken>, []>;

  /** Issues tok-1, tok-2... each living `ttlMs` from the fake clock's now. */
  function issuer(ttlMs: number) {
    return jest.fn(() => {
      const token = { token: `tok-${issued.length + 1}`, expiresAt: now + ttlMs };
      issued.push(token);
      return Promise.resolve(token);
    });
  }

  beforeEach(() => {
    now = 1_000_000;
    issued = [];
    issue = issuer(60 * 60_000);
  });

  function cache(): InstallationTokenCache {
    return new InstallationTokenCache(issue, MARGIN, () => now);
  }

  it('issues a token on first use and reuses it while more than the margin remains', async () => {
    const tokens = cache();
    expect(await tokens.token()).toBe('tok-1');
    now += 60 * 60_000 - MARGIN - 1;
    expect(await tokens.token()).toBe('tok-1');
    expect(issue).toHaveBeenCalledTimes(1);
  });

  it('asks for a new token once no more than the margin remains, before the old one expires', async () => {
    const tokens = cache();
    await tokens.token();
    now += 60 * 60_000 - MARGIN;
    expect(await tokens.token()).toBe('tok-2');
    expect(issue).toHaveBeenCalledTimes(2);
  });

  it('goes by the expiry GitHub gave, not by a fixed lifetime: short-lived tokens are replaced at every use', async () => {
    issue = issuer(2 * 60_000);
    const tokens = cache();
    expect(await tokens.token()).toBe('tok-1');
    expect(await tokens.token()).toBe('tok-2');
  });

  it('lets callers that arrive during an issue share it', async () => {
    let release!: (token: InstallationToken) => void;
    issue = jest.fn(() => new Promise<InstallationToken>((resolve) => (release = resolve)));
    const tokens = cache();
    const waiting = [tokens.token(), tokens.token(), tokens.token()];
    release({ token: 'shared', expiresAt: now + 60 * 60_000 });
    expect(await Promise.all(waiting)).toEqual(['shared', 'shared', 'shared']);
    expect(issue).toHaveBeenCalledTimes(1);
  });

  it('does not remember a failed issue: the next caller tries again', async () => {
    issue.mockRejectedValueOnce(new Error('GitHub did not answer'));
    const tokens = cache();
    await expect(tokens.token()).rejects.toThrow('GitHub did not answer');
    expect(await tokens.token()).toBe('tok-1');
  });

  it('replaces a discarded token at the next use, but ignores a discard of a token it no longer holds', async () => {
    const tokens = cache();
    await tokens.token();
    tokens.discard('tok-1');
    expect(await tokens.token()).toBe('tok-2');
    tokens.discard('tok-1');
    expect(await tokens.token()).toBe('tok-2');
  });

  it('never serves a token whose expiry is unreadable', async () => {
    issue = jest.fn(() => Promise.resolve({ token: 'tok', expiresAt: NaN }));
    const tokens = cache();
    await tokens.token();
    await tokens.token();
    expect(issue).toHaveBeenCalledTimes(2);
  });
});
