import { createHmac } from 'node:crypto';
import { loadAppConfig } from '@app/common';
import { ApiHttpError } from '../api-http.error';
import { GitHubSignatureVerifier } from './github-signature.verifier';

describe(GitHubSignatureVerifier.name, () => {
  // The example of GitHub's "Validating webhook deliveries" documentation.
  const secret = "It's a Secret to Everybody";
  const body = Buffer.from('Hello, World!');
  const documented = 'sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17';
  const sut = new GitHubSignatureVerifier(loadAppConfig({ GITHUB_WEBHOOK_SECRET: secret }));

  function refusal(run: () => void): { status: number; code: string } | undefined {
    try {
      run();
      return undefined;
    } catch (error) {
      return error instanceof ApiHttpError ? { status: error.getStatus(), code: error.code } : undefined;
    }
  }

  it("accepts GitHub's documented example", () => {
    expect(refusal(() => sut.verify(body, documented))).toBeUndefined();
    expect(refusal(() => sut.verify(body, documented.toUpperCase().replace('SHA256', 'sha256')))).toBeUndefined();
  });

  it('refuses a changed body, another secret, and a missing or malformed header with 401', () => {
    const otherSecret = `sha256=${createHmac('sha256', 'other').update(body).digest('hex')}`;
    for (const [raw, header] of [
      [Buffer.from('Hello, World?'), documented],
      [body, otherSecret],
      [body, undefined],
      [body, 'sha1=757107ea0eb2509fc211221cce984b8a37570b6d'],
      [undefined, documented],
    ] as const) {
      expect(refusal(() => sut.verify(raw, header))).toEqual({ status: 401, code: 'INVALID_SIGNATURE' });
    }
  });

  it('refuses every delivery when no secret is configured', () => {
    const open = new GitHubSignatureVerifier(loadAppConfig({}));
    expect(refusal(() => open.verify(body, documented))).toEqual({ status: 403, code: 'WEBHOOKS_DISABLED' });
  });
});
