import { randomBytes } from 'node:crypto';

/**
 * The files a GitHub Actions runner keeps in its root directory, and the just-in-time configuration that carries them,
 * in the formats of github.com/actions/runner (read at 258d6c8, v2.336.0):
 * - `.runner`: RunnerSettings (src/Runner.Common/ConfigurationStore.cs), serialized by StringUtil.ConvertToJson with
 *   VssJsonMediaTypeFormatter's camelCase contract resolver (src/Sdk/WebApi/WebApi/VssJsonMediaTypeFormatter.cs); its
 *   members are [DataMember(EmitDefaultValue = false)], so false and empty values are left out;
 * - `.credentials`: CredentialData (src/Runner.Common/CredentialData.cs) `{ scheme, data }`, as
 *   ConfigurationManager.ConfigureAsync saves it for OAuth: data.clientId, data.authorizationUrl,
 *   data.requireFipsCryptography;
 * - `.credentials_rsaparams`: RSAParametersSerializable (src/Runner.Listener/Configuration/IRSAKeyManager.cs): d, dp,
 *   dq, exponent, inverseQ, modulus, p, q, each a byte array, which Json.NET writes as standard base64;
 * - the encoded JIT config (`encoded_jit_config` of generate-jitconfig): base64 of a JSON object mapping each file
 *   name to the base64 of the file's content, which Runner.ExecuteCommand (src/Runner.Listener/Runner.cs) decodes and
 *   writes into the root directory.
 */
export interface RunnerSettingsFile {
  agentId: number;
  agentName: string;
  poolId: number;
  poolName?: string;
  disableUpdate?: boolean;
  ephemeral?: boolean;
  /** Where the runner opens its session and polls for jobs: the fake's runner-facing endpoints. */
  serverUrl: string;
  /** The web URL of the runner's repository or organisation; ConfigurationStore notes it is empty for JIT runners. */
  gitHubUrl?: string;
  workFolder: string;
}

export interface CredentialsFile {
  scheme: 'OAuth';
  data: { clientId: string; authorizationUrl: string; requireFipsCryptography: string };
}

export interface RsaParametersFile {
  d: string;
  dp: string;
  dq: string;
  exponent: string;
  inverseQ: string;
  modulus: string;
  p: string;
  q: string;
}

export interface RunnerFiles {
  '.runner': RunnerSettingsFile;
  '.credentials': CredentialsFile;
  '.credentials_rsaparams': RsaParametersFile;
}

/**
 * RSAParametersSerializable's shape with the sizes of a 2048-bit key. The bytes are random, not a key: GitHub's server
 * never sees the private half, the fake checks no signature, and generating a real key (~100 ms, synchronous) would
 * slow every generate-jitconfig beyond the short timeouts some tests give RunnerHub.
 */
export function rsaParametersFile(): RsaParametersFile {
  const bytes = (count: number) => randomBytes(count).toString('base64');
  return {
    d: bytes(256),
    dp: bytes(128),
    dq: bytes(128),
    exponent: Buffer.from([1, 0, 1]).toString('base64'),
    inverseQ: bytes(128),
    modulus: bytes(256),
    p: bytes(128),
    q: bytes(128),
  };
}

/** Json.NET's Formatting.Indented, as IOUtil.SaveObject writes these files. */
function fileContent(value: unknown): string {
  return JSON.stringify(value, null, 2);
}

/** `encoded_jit_config`: base64(JSON{ file name: base64(file content) }). */
export function encodeJitConfig(files: RunnerFiles): string {
  const map = Object.fromEntries(
    Object.entries(files).map(([name, content]) => [name, Buffer.from(fileContent(content)).toString('base64')]),
  );
  return Buffer.from(JSON.stringify(map)).toString('base64');
}

/** The inverse of encodeJitConfig, for tests that look inside what RunnerHub passed on. */
export function decodeJitConfig(encoded: string): RunnerFiles {
  const map = JSON.parse(Buffer.from(encoded, 'base64').toString('utf8')) as Record<string, string>;
  const file = (name: keyof RunnerFiles) => {
    if (typeof map[name] !== 'string') throw new Error(`the JIT config has no ${name}`);
    return JSON.parse(Buffer.from(map[name], 'base64').toString('utf8')) as unknown;
  };
  return {
    '.runner': file('.runner') as RunnerSettingsFile,
    '.credentials': file('.credentials') as CredentialsFile,
    '.credentials_rsaparams': file('.credentials_rsaparams') as RsaParametersFile,
  };
}
