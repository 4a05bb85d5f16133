import { AppConfig, ConfigurationError, loadAppConfig } from './app-config';

function problemsOf(env: Record<string, string>): string[] {
  try {
    loadAppConfig(env, '/srv/runnerhub');
  } catch (error) {
    if (error instanceof ConfigurationError) return error.problems;
    throw error;
  }
  throw new Error('expected the configuration to be refused');
}

describe(loadAppConfig.name, () => {
  it('gives every documented default when nothing is set', () => {
    const config = loadAppConfig({}, '/srv/runnerhub');
    expect(config).toBeInstanceOf(AppConfig);
    expect(config).toMatchObject({
      nodeEnv: 'development',
      port: 3000,
      database: { kind: 'sqlite', dataDir: '/srv/runnerhub/data', file: '/srv/runnerhub/data/runnerhub.sqlite' },
      docker: { kind: 'socket', socketPath: '/var/run/docker.sock' },
      apiKeys: undefined,
      runnerImage: 'ghcr.io/actions/actions-runner:2.336.0',
      runners: {
        family: 'actions',
        pullPolicy: 'if-not-present',
        prepull: true,
        registryAuth: [],
        defaultProfile: 'strict',
        profilesByLabel: {},
        pidsLimit: 4096,
        dind: { image: 'docker:27.5.1-dind', privileged: true },
        completionTimeoutMs: 600000,
      },
      maxConcurrentContainers: 10,
      rateLimit: { mutationsPerMinute: 600, readsPerMinute: 6000, anonymousPerMinute: 60 },
      streams: { maxOpen: 500, maxOpenPerKey: 20, bufferBytes: 1048576, logsMaxBytes: 1048576 },
      retention: { auditDays: 90, deliveryDays: 14, intervalMs: 3600000 },
      metrics: { token: undefined, repositoryLabels: false },
      jobs: { imagesAllowed: ['ghcr.io/actions/actions-runner:2.336.0'], repositoriesAllowed: [] },
      dataDir: '/srv/runnerhub/data',
      containers: {
        allowUsernsHost: false,
        labelPrefixes: ['org.opencontainers.', 'app.'],
        defaults: { memoryMB: 2048, cpus: 2, pidsLimit: 512 },
        tmpfsSizeMB: 256,
      },
      github: { apiUrl: 'https://api.github.com', app: undefined, webhookSecret: undefined },
      monitoring: { statsIntervalMs: 30000, healthIntervalMs: 30000, alertCpuPercent: 80, alertMemoryPercent: 90 },
      cleanup: {
        intervalMs: 300000,
        completedGraceMs: 300000,
        preserveFailed: true,
        failedRetentionMs: 86400000,
        orphanAgeMs: 3600000,
        stoppedAgeMs: 3600000,
      },
      log: { format: 'pretty', level: 'info' },
    });
  });

  it('reads every variable it documents', () => {
    const config = loadAppConfig({
      NODE_ENV: 'production',
      PORT: '8080',
      DATABASE_URL: 'postgres://rh:secret@db.internal:5432/runnerhub',
      RUNNERHUB_DATA_DIR: '/var/lib/runnerhub',
      DOCKER_HOST: 'tcp://10.0.0.5:2375',
      RUNNERHUB_API_KEYS: 'aaaaaaaaaaaaaaaa:viewer,bbbbbbbbbbbbbbbbbbbb:admin',
      RUNNER_IMAGE: 'ghcr.io/acme/runner:2.320',
      MAX_CONCURRENT_CONTAINERS: '25',
      RATE_LIMIT_MUTATIONS_PER_MINUTE: '30',
      GITHUB_API_URL: 'https://ghe.acme.test/api/v3/',
      GITHUB_TOKEN: 'ghp_x',
      GITHUB_WEBHOOK_SECRET: 'a-webhook-secret-of-twenty-plus',
      STATS_INTERVAL_MS: '1000',
      HEALTH_INTERVAL_MS: '2000',
      CLEANUP_INTERVAL_MS: '3000',
      CLEANUP_COMPLETED_GRACE_MS: '0',
      CLEANUP_PRESERVE_FAILED: 'false',
      CLEANUP_FAILED_RETENTION_MS: '5',
      CLEANUP_ORPHAN_AGE_MS: '6',
      CLEANUP_STOPPED_AGE_MS: '7',
      ALERT_CPU_PERCENT: '150',
      ALERT_MEMORY_PERCENT: '75',
    });
    expect(config).toMatchObject({
      nodeEnv: 'production',
      port: 8080,
      log: { format: 'json' },
      database: { kind: 'postgres', url: 'postgres://rh:secret@db.internal:5432/runnerhub' },
      docker: { kind: 'tcp', protocol: 'http', host: '10.0.0.5', port: 2375 },
      apiKeys: [
        { key: 'aaaaaaaaaaaaaaaa', role: 'viewer' },
        { key: 'bbbbbbbbbbbbbbbbbbbb', role: 'admin' },
      ],
      runnerImage: 'ghcr.io/acme/runner:2.320',
      maxConcurrentContainers: 25,
      rateLimit: { mutationsPerMinute: 30 },
      github: {
        apiUrl: 'https://ghe.acme.test/api/v3',
        token: 'ghp_x',
        webhookSecret: 'a-webhook-secret-of-twenty-plus',
      },
      monitoring: { statsIntervalMs: 1000, healthIntervalMs: 2000, alertCpuPercent: 150, alertMemoryPercent: 75 },
      cleanup: {
        intervalMs: 3000,
        completedGraceMs: 0,
        preserveFailed: false,
        failedRetentionMs: 5,
        orphanAgeMs: 6,
        stoppedAgeMs: 7,
      },
    });
  });

  it('reads the hardening settings', () => {
    const config = loadAppConfig({
      RUNNER_IMAGE: 'ghcr.io/acme/runner:2.320',
      RUNNER_IMAGES_ALLOWED: 'ghcr.io/acme/runner:*,ghcr.io/acme/other:1',
      REPOSITORIES_ALLOWED: 'acme,tools/*-ci',
      SECURITY_ALLOW_USERNS_HOST: 'true',
      CONTAINER_LABEL_PREFIXES: 'com.acme.,app.',
      DEFAULT_MEMORY_MB: '1024',
      DEFAULT_CPUS: '1',
      DEFAULT_PIDS: '256',
      TMPFS_SIZE_MB: '64',
      RATE_LIMIT_READS_PER_MINUTE: '100',
      RATE_LIMIT_ANONYMOUS_PER_MINUTE: '5',
      SSE_MAX: '10',
      SSE_MAX_PER_KEY: '2',
      SSE_BUFFER_BYTES: '4096',
      LOGS_MAX_BYTES: '2048',
      AUDIT_RETENTION_DAYS: '30',
      DELIVERY_RETENTION_DAYS: '7',
      RETENTION_INTERVAL_MS: '60000',
      METRICS_TOKEN: 'prometheus-scrape-token',
      METRICS_REPOSITORY_LABELS: 'true',
    });
    expect(config).toMatchObject({
      jobs: {
        imagesAllowed: ['ghcr.io/acme/runner:*', 'ghcr.io/acme/other:1'],
        repositoriesAllowed: ['acme', 'tools/*-ci'],
      },
      containers: {
        allowUsernsHost: true,
        labelPrefixes: ['com.acme.', 'app.'],
        defaults: { memoryMB: 1024, cpus: 1, pidsLimit: 256 },
        tmpfsSizeMB: 64,
      },
      rateLimit: { readsPerMinute: 100, anonymousPerMinute: 5 },
      streams: { maxOpen: 10, maxOpenPerKey: 2, bufferBytes: 4096, logsMaxBytes: 2048 },
      retention: { auditDays: 30, deliveryDays: 7, intervalMs: 60000 },
      metrics: { token: 'prometheus-scrape-token', repositoryLabels: true },
    });
  });

  it('speaks TLS to a tcp engine with DOCKER_TLS_VERIFY, as the docker CLI does', () => {
    const config = loadAppConfig({
      DOCKER_HOST: 'tcp://10.0.0.5:2376',
      DOCKER_TLS_VERIFY: '1',
      DOCKER_CERT_PATH: '/etc/runnerhub/docker-certs',
    });
    expect(config.docker).toEqual({
      kind: 'tcp',
      protocol: 'https',
      host: '10.0.0.5',
      port: 2376,
      tls: { certPath: '/etc/runnerhub/docker-certs' },
    });
    expect(problemsOf({ DOCKER_TLS_VERIFY: '1' })).toEqual([
      expect.stringMatching(/DOCKER_TLS_VERIFY needs DOCKER_HOST=tcp:\/\/host:port/),
    ]);
  });

  it('refuses defaults above their ceilings and a short webhook secret, without echoing the secret', () => {
    expect(problemsOf({ DEFAULT_MEMORY_MB: '4096', LIMIT_MAX_MEMORY_MB: '2048', DEFAULT_PIDS: '40000' })).toEqual([
      'DEFAULT_MEMORY_MB (4096) must not exceed LIMIT_MAX_MEMORY_MB (2048)',
      'DEFAULT_PIDS (40000) must not exceed LIMIT_MAX_PIDS (32768)',
    ]);
    const problems = problemsOf({ GITHUB_WEBHOOK_SECRET: 'nineteen-characters' });
    expect(problems).toEqual([expect.stringMatching(/GITHUB_WEBHOOK_SECRET must be at least 20 characters/)]);
    expect(problems.join()).not.toContain('nineteen-characters');
  });

  it('reads a unix socket DOCKER_HOST and treats blank values as unset', () => {
    const config = loadAppConfig({ DOCKER_HOST: 'unix:///run/user/1000/docker.sock', PORT: '', DATABASE_URL: ' ' });
    expect(config.docker).toEqual({ kind: 'socket', socketPath: '/run/user/1000/docker.sock' });
    expect(config.port).toBe(3000);
    expect(config.database.kind).toBe('sqlite');
  });

  it.each([
    ['PORT', 'abc', /PORT must be an integer from 0 to 65535 \(got "abc"\)/],
    ['PORT', '70000', /PORT must be an integer from 0 to 65535/],
    ['PORT', '80.5', /PORT must be an integer/],
    ['DATABASE_URL', 'not a url', /DATABASE_URL must be a postgres:\/\/ or postgresql:\/\/ URL/],
    ['DATABASE_URL', 'mysql://db/x', /DATABASE_URL must be a postgres/],
    ['DOCKER_HOST', 'ssh://me@host', /DOCKER_HOST must be unix:\/\/\/path/],
    ['RUNNERHUB_API_KEYS', 'short:admin', /RUNNERHUB_API_KEYS must be a comma-separated list of key:role/],
    ['RUNNERHUB_API_KEYS', 'aaaaaaaaaaaaaaaa:root', /RUNNERHUB_API_KEYS/],
    ['MAX_CONCURRENT_CONTAINERS', '0', /MAX_CONCURRENT_CONTAINERS must be an integer from 1 to 1000 \(got "0"\)/],
    [
      'RATE_LIMIT_MUTATIONS_PER_MINUTE',
      '0',
      /RATE_LIMIT_MUTATIONS_PER_MINUTE must be an integer from 1 to 100000 \(mutating API calls per key and minute\) \(got "0"\)/,
    ],
    [
      'RATE_LIMIT_MUTATIONS_PER_MINUTE',
      '100001',
      /RATE_LIMIT_MUTATIONS_PER_MINUTE must be an integer from 1 to 100000/,
    ],
    ['RATE_LIMIT_MUTATIONS_PER_MINUTE', '1.5', /RATE_LIMIT_MUTATIONS_PER_MINUTE must be an integer/],
    ['STATS_INTERVAL_MS', '10', /STATS_INTERVAL_MS must be an integer from 100 to 604800000 \(milliseconds\)/],
    ['CLEANUP_PRESERVE_FAILED', 'maybe', /CLEANUP_PRESERVE_FAILED must be true or false/],
    ['ALERT_MEMORY_PERCENT', '101', /ALERT_MEMORY_PERCENT must be an integer from 1 to 100/],
    ['GITHUB_API_URL', 'ftp://x', /GITHUB_API_URL must be an http\(s\) URL/],
    ['RUNNER_NETWORK', 'host', /RUNNER_NETWORK must be bridge, none or a user-defined network \(never host/],
    ['LIMIT_MAX_MEMORY_MB', '2', /LIMIT_MAX_MEMORY_MB must be an integer from 6/],
    [
      'SECURITY_ALLOWED_BIND_MOUNTS',
      'relative/path',
      /SECURITY_ALLOWED_BIND_MOUNTS must be a comma-separated list of absolute/,
    ],
    ['NODE_ENV', 'staging', /NODE_ENV must be one of development, production, test/],
  ])('refuses %s=%s with a message naming the variable', (name, value, message) => {
    const problems = problemsOf({ [name]: value });
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(message);
  });

  it('lists every bad variable at once, and never echoes a secret value', () => {
    const problems = problemsOf({
      PORT: 'abc',
      DATABASE_URL: 'postgres//leaky:password@db',
      RUNNERHUB_API_KEYS: 'leakykey:x',
    });
    expect(problems).toHaveLength(3);
    const text = problems.join('\n');
    expect(text).toMatch(/PORT/);
    expect(text).toMatch(/DATABASE_URL/);
    expect(text).not.toMatch(/password|leaky/);
  });

  it('wants all three GitHub App settings together', () => {
    const problems = problemsOf({ GITHUB_APP_ID: '123' });
    expect(problems.join('\n')).toMatch(/GITHUB_APP_PRIVATE_KEY/);
    expect(problems.join('\n')).toMatch(/GITHUB_APP_INSTALLATION_ID/);
    const config = loadAppConfig({
      GITHUB_APP_ID: '123',
      GITHUB_APP_INSTALLATION_ID: '456',
      GITHUB_APP_PRIVATE_KEY: '-----BEGIN RSA PRIVATE KEY-----\nabc\n-----END RSA PRIVATE KEY-----',
    });
    expect(config.github.app).toMatchObject({ appId: 123, installationId: 456 });
  });

  it('ignores variables it does not know', () => {
    expect(() => loadAppConfig({ HOME: '/root', PATH: '/bin', SOMETHING_ELSE: '???' })).not.toThrow();
  });

  it('reads runner families, profiles and registry credentials', () => {
    const config = loadAppConfig({
      RUNNER_IMAGE_FAMILY: 'custom',
      RUNNER_CUSTOM_COMMAND: '["/opt/runner/start", "--once"]',
      RUNNER_CUSTOM_USER: '1001:123',
      RUNNER_CUSTOM_JIT_ENV: 'JIT',
      RUNNER_PROFILES: 'docker:docker,Sudo:standard',
      RUNNER_IMAGE_PULL: 'always',
      REGISTRY_AUTH: JSON.stringify({
        auths: {
          'https://index.docker.io/v1/': { auth: Buffer.from('hubuser:hub:pass').toString('base64') },
          '127.0.0.1:5000': { username: 'local', password: 'secret' },
        },
      }),
    });
    expect(config.runners).toMatchObject({
      family: 'custom',
      pullPolicy: 'always',
      custom: { command: ['/opt/runner/start', '--once'], user: '1001:123', jitEnv: 'JIT' },
      profilesByLabel: { docker: 'docker', sudo: 'standard' },
      registryAuth: [
        { registry: 'docker.io', username: 'hubuser', password: 'hub:pass' },
        { registry: '127.0.0.1:5000', username: 'local', password: 'secret' },
      ],
    });
    expect(loadAppConfig({ REGISTRY_AUTH: 'ghcr.io=bot:tok:en' }).runners.registryAuth).toEqual([
      { registry: 'ghcr.io', username: 'bot', password: 'tok:en' },
    ]);
  });

  it('refuses a custom family that names no credential variable, and a command that is not a JSON array', () => {
    const problems = problemsOf({ RUNNER_IMAGE_FAMILY: 'custom', RUNNER_CUSTOM_COMMAND: '["a", 1]' });
    expect(problems.join('\n')).toMatch(/RUNNER_CUSTOM_JIT_ENV/);
    expect(problems.join('\n')).toMatch(/RUNNER_CUSTOM_COMMAND must be a non-empty JSON array/);
  });

  it('refuses registry credentials it cannot read, without echoing them', () => {
    const problems = problemsOf({ REGISTRY_AUTH: 'ghcr.io:leakypassword' });
    expect(problems.join('\n')).toMatch(/REGISTRY_AUTH/);
    expect(problems.join('\n')).not.toMatch(/leaky/);
  });
});
