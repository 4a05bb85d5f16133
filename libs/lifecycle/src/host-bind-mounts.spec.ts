import { mkdirSync, mkdtempSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadAppConfig } from '@app/common';
import { bindMountsOf, HostBindMounts } from './host-bind-mounts';

/**
 * Against a real directory tree: <root>/allowed is SECURITY_ALLOWED_BIND_MOUNTS (reached through a symlinked
 * prefix too), <root>/outside is not.
 */
describe(HostBindMounts.name, () => {
  let root: string;
  let allowed: string;
  let outside: string;

  beforeAll(() => {
    root = realpathSync(mkdtempSync(join(tmpdir(), 'host-binds-')));
    allowed = join(root, 'allowed');
    outside = join(root, 'outside');
    mkdirSync(join(allowed, 'cache', 'npm'), { recursive: true });
    mkdirSync(outside);
    writeFileSync(join(outside, 'secret'), 'host secret');
    // Planted inside the allowed directory: each points out of it.
    symlinkSync('/', join(allowed, 'r'));
    symlinkSync(outside, join(allowed, 'out'));
    symlinkSync('../outside', join(allowed, 'relative-out'));
    mkdirSync(join(allowed, 'nest'));
    symlinkSync(join(allowed, 'out'), join(allowed, 'nest', 'deeper'));
    // Inside pointing inside: fine, and what is mounted is where it leads.
    symlinkSync(join(allowed, 'cache'), join(allowed, 'cache-link'));
    symlinkSync(allowed, join(root, 'allowed-link'));
  });

  afterAll(() => rmSync(root, { recursive: true, force: true }));

  function sut(prefixes = allowed) {
    return new HostBindMounts(loadAppConfig({ SECURITY_ALLOWED_BIND_MOUNTS: prefixes }));
  }

  async function refusals(binds: string[], user = '1000'): Promise<string[]> {
    const { binds: mounted, problems } = await sut().resolve(binds, user);
    expect(mounted).toEqual([]);
    return problems.map((p) => `${p.field} ${p.message}`);
  }

  it('mounts a path under the prefix read-only, at its resolved path', async () => {
    const result = await sut().resolve(
      [`${allowed}/cache/npm:/cache`, `${allowed}/cache-link/npm:/c2:ro`],
      '1000:1000',
    );
    expect(result).toEqual({
      binds: [`${allowed}/cache/npm:/cache:ro`, `${allowed}/cache/npm:/c2:ro`],
      problems: [],
    });
    expect(bindMountsOf(result.binds)[0]).toEqual({
      Type: 'bind',
      Source: `${allowed}/cache/npm`,
      Target: '/cache',
      ReadOnly: true,
      BindOptions: { NonRecursive: true },
    });
  });

  it('resolves the allowed prefixes as well: a symlinked prefix allows what it leads to', async () => {
    const result = await sut(join(root, 'allowed-link')).resolve([`${allowed}/cache:/cache`], '1000');
    expect(result.problems).toEqual([]);
  });

  it('refuses a symlink to / planted in the allowed directory, naming what it resolves to', async () => {
    expect(await refusals([`${allowed}/r:/host`])).toEqual([
      `security.binds ${allowed}/r:/host is not allowed (it resolves to /): host paths must lie under ` +
        `SECURITY_ALLOWED_BIND_MOUNTS (now: ${allowed})`,
    ]);
    expect(await refusals([`${allowed}/r/etc:/etc-host`])).toEqual([expect.stringContaining('resolves to /etc')]);
  });

  it('refuses symlinks that lead out, relative and nested ones included', async () => {
    expect(
      await refusals([`${allowed}/out:/a`, `${allowed}/relative-out:/b`, `${allowed}/nest/deeper/secret:/c`]),
    ).toEqual([
      expect.stringContaining(`resolves to ${outside})`),
      expect.stringContaining(`resolves to ${outside})`),
      expect.stringContaining(`resolves to ${outside}/secret)`),
    ]);
  });

  it('refuses .. segments, relative paths, missing paths, a prefix look-alike and a mode', async () => {
    expect(
      await refusals([
        `${allowed}/cache/../../outside:/x`,
        `${allowed}/cache:/x/../etc`,
        'allowed/cache:/x',
        `${allowed}/cache:relative`,
        `${allowed}/missing:/x`,
        `${allowed}-look-alike:/x`,
        `${allowed}/cache:/x:rw`,
        `${allowed}/cache:/x:ro:z`,
        `${allowed}/cache`,
      ]),
    ).toEqual([
      expect.stringMatching(/must not contain "\.\." path segments$/),
      expect.stringMatching(/must not contain "\.\." path segments$/),
      expect.stringMatching(/must have absolute host and container paths$/),
      expect.stringMatching(/must have absolute host and container paths$/),
      expect.stringMatching(/names a host path that does not exist$/),
      expect.stringMatching(/^security\.binds \S+-look-alike:\/x is not allowed: host paths must lie under/),
      expect.stringMatching(/must not ask for mode "rw": binds are always read-only/),
      expect.stringMatching(/must be host-path:container-path/),
      expect.stringMatching(/must be host-path:container-path/),
    ]);
  });

  it.each([
    [undefined, 'must be set'],
    ['0', 'must not be 0'],
    ['0:1000', 'must not be 0:1000'],
    ['1000:0', 'must not be 1000:0'],
    ['root', 'must not be root'],
    ['runner', 'must not be runner'],
  ])('with binds, refuses the user %p: a numeric non-root uid[:gid] is required', async (user, message) => {
    const { problems } = await sut().resolve([`${allowed}/cache:/cache`], user);
    expect(problems).toEqual([{ field: 'config.user', message: expect.stringContaining(message) }]);
  });

  it('looks nothing up outside the prefixes: a refusal does not tell whether a host path exists', async () => {
    const [missing, present] = await refusals([`${outside}/missing:/a`, `${outside}/secret:/b`]);
    expect(missing.replace('/missing:/a', '')).toBe(present.replace('/secret:/b', ''));
    expect(present).toMatch(/is not allowed: host paths must lie under SECURITY_ALLOWED_BIND_MOUNTS/);
  });

  it('asks nothing of the user when there are no binds', async () => {
    expect(await sut().resolve([], undefined)).toEqual({ binds: [], problems: [] });
  });
});
