import { execFile, spawnSync } from 'node:child_process';
import { promisify } from 'node:util';
import { createServer, IncomingHttpHeaders, Server } from 'node:http';
import { AddressInfo } from 'node:net';
import { randomBytes } from 'node:crypto';
import { docker, inspectContainer, removeLabelled } from './engine-cli';
import { FakeGitHub } from './fake-github';
import { decodeJitConfig } from './fake-github-runner-files';
import { signatureOf, workflowJobPayload } from './github-webhooks';
import { TEST_LABEL } from './test-env';
import { waitFor } from './wait-for';

/**
 * The runner stand-ins (scripts/build-runner-standins.sh) and the fake GitHub together, with plain `docker run` and no
 * RunnerHub: what a real GitHub job needs from a runner container (command, environment, user, capabilities) and what
 * GitHub then tells RunnerHub (webhooks, REST), for the official actions-runner image and for myoung34/github-runner.
 */
const ACTIONS_IMAGE = process.env.TEST_ACTIONS_RUNNER_IMAGE ?? 'runnerhub-test/actions-runner:1';
const MYOUNG34_IMAGE = process.env.TEST_MYOUNG34_RUNNER_IMAGE ?? 'runnerhub-test/myoung34-runner:1';
const TOKEN = 'ghp_standin_suite_token_0123456789abcdefABCD';
const SECRET = 'standin-suite-webhook-secret';
const REPO = 'octo-org/app';
const SUITE_LABEL = 'app.runnerhub-test.suite=fake-github-runners';
const LOCKED_DOWN = ['--cap-drop', 'ALL', '--security-opt', 'no-new-privileges', '--init'];
/** The one way myoung34/github-runner runs locked down: as its runner user, told not to become root. */
const MYOUNG34_LOCKED_DOWN = [...LOCKED_DOWN, '--user', '1001:121', '-e', 'RUN_AS_ROOT=false'];

type Payload = ReturnType<typeof workflowJobPayload>;
interface ImageConfig {
  User: string;
  WorkingDir: string;
  Entrypoint: string[] | null;
  Cmd: string[] | null;
  Env: string[];
}

interface Received {
  headers: IncomingHttpHeaders;
  body: string;
}

let network: string;
let gateway: string;
let github: FakeGitHub;
let ghes: FakeGitHub;
let receiver: Server;
const received: Received[] = [];

beforeAll(async () => {
  try {
    docker(['image', 'inspect', ACTIONS_IMAGE, MYOUNG34_IMAGE]);
  } catch {
    throw new Error(
      `Missing ${ACTIONS_IMAGE} or ${MYOUNG34_IMAGE}: run \`bash scripts/build-runner-standins.sh\` (as root).`,
    );
  }
  network = `runnerhub-standins-${randomBytes(4).toString('hex')}`;
  docker(['network', 'create', '--label', `${TEST_LABEL}=true`, network]);
  gateway = docker(['network', 'inspect', '-f', '{{(index .IPAM.Config 0).Gateway}}', network]);
  github = await FakeGitHub.start({ token: TOKEN, listenHost: gateway, longPollMs: 2_000 });
  ghes = await FakeGitHub.start({ token: TOKEN, listenHost: gateway, apiPrefix: '/api/v3', longPollMs: 2_000 });
  receiver = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      received.push({ headers: request.headers, body: Buffer.concat(chunks).toString('utf8') });
      response.writeHead(202).end();
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  const target = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/webhooks/github`;
  github.sendWebhooksTo(target, SECRET);
  ghes.sendWebhooksTo(target, SECRET);
});

afterAll(async () => {
  removeLabelled(SUITE_LABEL);
  if (network) docker(['network', 'rm', network]);
  await github?.stop();
  await ghes?.stop();
  receiver?.closeAllConnections();
  await new Promise((resolve) => receiver?.close(resolve));
});

function uniqueName(prefix: string): string {
  return `${prefix}-${randomBytes(4).toString('hex')}`;
}

/** `docker run -d` on the suite's network, labelled for cleanup; returns the container id. */
function run(args: string[], imageAndCommand: string[]): string {
  return docker([
    'run',
    '-d',
    '--label',
    `${TEST_LABEL}=true`,
    '--label',
    SUITE_LABEL,
    '--network',
    network,
    ...args,
    ...imageAndCommand,
  ]);
}

async function exitOf(id: string, timeoutMs = 60_000): Promise<{ exitCode: number; logs: string }> {
  const state = await waitFor(
    () => {
      const current = inspectContainer(id)?.State;
      return current?.Status === 'exited' ? current : undefined;
    },
    { timeoutMs, intervalMs: 200, description: `container ${id.slice(0, 12)} to exit` },
  );
  // The container's stdout, then its stderr (the runner writes its errors there).
  const logs = spawnSync('docker', ['logs', id], { encoding: 'utf8', timeout: 30_000 });
  return { exitCode: state.ExitCode, logs: `${logs.stdout}\n${logs.stderr}` };
}

async function rest<T>(fake: FakeGitHub, method: string, path: string, body?: unknown): Promise<T> {
  const response = await fetch(`${fake.apiUrl}${path}`, {
    method,
    headers: { authorization: `token ${TOKEN}`, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  if (!response.ok) throw new Error(`${method} ${path}: ${response.status} ${text}`);
  return (text ? JSON.parse(text) : undefined) as T;
}

async function jitConfig(fake: FakeGitHub, name: string, labels: string[]): Promise<string> {
  const answer = await rest<{ encoded_jit_config: string }>(
    fake,
    'POST',
    `/repos/${REPO}/actions/runners/generate-jitconfig`,
    {
      name,
      runner_group_id: 1,
      labels,
      work_folder: '_work',
    },
  );
  return answer.encoded_jit_config;
}

async function registrationToken(fake: FakeGitHub): Promise<string> {
  return (await rest<{ token: string }>(fake, 'POST', `/repos/${REPO}/actions/runners/registration-token`)).token;
}

function webhooksFor(jobId: number): Array<{ action: string; payload: Payload; headers: IncomingHttpHeaders }> {
  return received
    .map((r) => ({ payload: JSON.parse(r.body) as Payload, headers: r.headers, body: r.body }))
    .filter((r) => r.payload.workflow_job?.id === jobId)
    .map((r) => {
      expect(r.headers['x-hub-signature-256']).toBe(signatureOf(SECRET, r.body));
      return { action: r.payload.action, payload: r.payload, headers: r.headers };
    });
}

function imageConfig(image: string): ImageConfig {
  return (JSON.parse(docker(['image', 'inspect', image])) as Array<{ Config: ImageConfig }>)[0].Config;
}

async function completed(fake: FakeGitHub, jobId: number, timeoutMs = 60_000) {
  return waitFor(() => fake.workflowJob(jobId)?.status === 'completed' && fake.workflowJob(jobId)!, {
    timeoutMs,
    description: `job ${jobId} to complete`,
  });
}

describe('runnerhub-test/actions-runner (the contract of ghcr.io/actions/actions-runner)', () => {
  it('has no entrypoint, runs bash as user runner by default, and so exits 0 at once without taking a job', async () => {
    const label = uniqueName('idle');
    const job = github.queueWorkflowJob({ repository: REPO, labels: [label], steps: ['echo hi'] });

    const config = imageConfig(ACTIONS_IMAGE);
    expect(config).toMatchObject({ User: 'runner', WorkingDir: '/home/runner', Entrypoint: null, Cmd: ['/bin/bash'] });
    expect(config.Env).toEqual(
      expect.arrayContaining(['RUNNER_MANUALLY_TRAP_SIG=1', 'ACTIONS_RUNNER_PRINT_LOG_TO_STDOUT=1']),
    );
    const { exitCode } = await exitOf(run(LOCKED_DOWN, [ACTIONS_IMAGE]), 15_000);

    expect(exitCode).toBe(0);
    expect(github.workflowJob(job.id)).toMatchObject({ status: 'queued', runnerName: null });
    expect(github.cancelWorkflowJob(job.id)).toBe(true);
    const probe = await exitOf(
      run(
        [],
        [
          ACTIONS_IMAGE,
          'bash',
          '-c',
          'id && docker --version && tar -tf /opt/standin/busybox.tar | grep -x ./bin/echo',
        ],
      ),
    );
    expect(probe.exitCode).toBe(0);
    expect(probe.logs).toContain('uid=1001(runner) gid=1001(runner) groups=1001(runner),27(sudo),123(docker)');
  });

  it('runs a queued job from ACTIONS_RUNNER_INPUT_JITCONFIG under CapDrop ALL + no-new-privileges, exits 0 after a failed job', async () => {
    const name = uniqueName('jit');
    const label = uniqueName('label');
    const job = github.queueWorkflowJob({
      repository: REPO,
      labels: ['self-hosted', label.toUpperCase()],
      name: 'test',
      steps: [
        'test -z "${ACTIONS_RUNNER_INPUT_JITCONFIG:-}" && ls -A /home/runner /home/runner/_work && id -u && pwd',
        'echo hi',
        'false',
        'echo never',
      ],
    });
    const encoded = await jitConfig(github, name, ['self-hosted', 'linux', label]);
    expect(decodeJitConfig(encoded)['.runner']).toMatchObject({ agentName: name, serverUrl: github.servicesUrl });

    const id = run(
      [...LOCKED_DOWN, '-e', `ACTIONS_RUNNER_INPUT_JITCONFIG=${encoded}`],
      [ACTIONS_IMAGE, '/home/runner/run.sh'],
    );
    const { exitCode, logs } = await exitOf(id);

    expect(exitCode).toBe(0);
    const done = await completed(github, job.id);
    expect(done).toMatchObject({ conclusion: 'failure', runnerName: name, runnerGroupId: 1 });
    expect(done.stepResults.map((s) => s.exitCode)).toEqual([0, 0, 1]);
    expect(logs).toContain('Listening for Jobs');
    for (const entry of ['.runner', '.credentials', '.credentials_rsaparams', '_diag', '_work']) {
      expect(logs).toContain(`\n${entry}\n`);
    }
    expect(logs).toMatch(/\/home\/runner\/_work:\n_actions\n_temp\n_tool\n/);
    expect(logs).toContain('\n1001\n/home/runner/_work/app/app\n');
    expect(logs).toContain('\nhi\n');
    expect(logs).toContain('##[error]Process completed with exit code 1.');
    expect(logs).not.toContain('never');
    expect(logs).toContain('Job test completed with result: Failed');
    // GitHub forgets an ephemeral runner after its job.
    expect(github.runners().some((r) => r.name === name)).toBe(false);

    await github.webhooksSettled();
    const hooks = webhooksFor(job.id);
    expect(hooks.map((h) => h.action)).toEqual(['queued', 'in_progress', 'completed']);
    expect(hooks[0].headers).toMatchObject({ 'x-github-event': 'workflow_job', 'content-type': 'application/json' });
    expect(hooks[1].payload.workflow_job).toMatchObject({
      runner_name: name,
      runner_group_id: 1,
      status: 'in_progress',
    });
    expect(hooks[2].payload.workflow_job).toMatchObject({ runner_name: name, conclusion: 'failure' });
    expect(
      github
        .deliveries()
        .filter((d) => d.jobId === job.id)
        .map((d) => d.status),
    ).toEqual([202, 202, 202]);
    const viaRest = await rest<Payload['workflow_job']>(github, 'GET', `/repos/${REPO}/actions/jobs/${job.id}`);
    expect(viaRest).toMatchObject({ id: job.id, run_id: job.runId, status: 'completed', conclusion: 'failure' });
  });

  it("lets `sudo` fail under no-new-privileges and work with Docker's default capabilities", async () => {
    const outcomes: Record<string, string | null> = {};
    for (const [profile, args] of [
      ['locked-down', LOCKED_DOWN],
      ['standard', ['--init']],
    ] as const) {
      const name = uniqueName(`sudo-${profile}`);
      const label = uniqueName('sudo');
      const job = github.queueWorkflowJob({ repository: REPO, labels: [label], steps: ['sudo true', 'sudo id -u'] });
      const encoded = await jitConfig(github, name, [label]);
      const { exitCode, logs } = await exitOf(
        run([...args, '-e', `ACTIONS_RUNNER_INPUT_JITCONFIG=${encoded}`], [ACTIONS_IMAGE, '/home/runner/run.sh']),
      );
      expect(exitCode).toBe(0);
      outcomes[profile] = (await completed(github, job.id)).conclusion;
      if (profile === 'locked-down') expect(logs).toContain('"no new privileges" flag is set');
      else expect(logs).toMatch(/\n0\n/);
    }
    expect(outcomes).toEqual({ 'locked-down': 'failure', standard: 'success' });
  });

  it('registers with a registration token through config.sh (GitHub Enterprise Server prefix), then run.sh', async () => {
    const name = uniqueName('token');
    const label = uniqueName('label');
    const job = ghes.queueWorkflowJob({
      repository: REPO,
      labels: ['self-hosted', 'Linux', 'X64', label],
      steps: ['echo ok'],
    });
    const token = await registrationToken(ghes);
    const script =
      `./config.sh --unattended --url ${ghes.runnerUrl(REPO)} --token ${token} --name ${name} --labels ${label} ` +
      '--ephemeral --disableupdate --work _work && ./run.sh';

    const { exitCode, logs } = await exitOf(run(LOCKED_DOWN, [ACTIONS_IMAGE, 'bash', '-c', script]));

    expect(exitCode).toBe(0);
    expect(logs).toContain('Runner successfully added');
    expect((await completed(ghes, job.id)).conclusion).toBe('success');
    const [registration] = ghes.requestsTo(/\/actions\/runner-registration$/, 'POST');
    expect(registration).toMatchObject({
      path: '/api/v3/actions/runner-registration',
      authorization: `RemoteAuth ${token}`,
      body: { url: ghes.runnerUrl(REPO), runner_event: 'register' },
    });
    const [added] = ghes.requestsTo(/\/agents$/, 'POST');
    expect(added.body).toMatchObject({
      name,
      ephemeral: true,
      disableUpdate: true,
      labels: [
        { name: 'self-hosted', type: 'system' },
        { name: 'Linux', type: 'system' },
        { name: 'X64', type: 'system' },
        { name: label, type: 'user' },
      ],
    });
    expect(ghes.runners().some((r) => r.name === name)).toBe(false);
  });

  it('exits 7 when GitHub says the runner version is deprecated and ARC asked for that code, 0 otherwise', async () => {
    github.setDeprecatedRunners(true);
    try {
      const codes: number[] = [];
      for (const arcEnv of [['-e', 'ACTIONS_RUNNER_RETURN_VERSION_DEPRECATED_EXIT_CODE=1'], []]) {
        const encoded = await jitConfig(github, uniqueName('old'), ['old']);
        const { exitCode, logs } = await exitOf(
          run(
            [...LOCKED_DOWN, ...arcEnv, '-e', `ACTIONS_RUNNER_INPUT_JITCONFIG=${encoded}`],
            [ACTIONS_IMAGE, './run.sh'],
          ),
        );
        expect(logs).toContain('is deprecated');
        codes.push(exitCode);
      }
      expect(codes).toEqual([7, 0]);
    } finally {
      github.setDeprecatedRunners(false);
    }
  });

  it('ends with 0 and no job when GitHub no longer has its registration (JIT config given as run.sh --jitconfig)', async () => {
    const name = uniqueName('gone');
    const label = uniqueName('label');
    const job = github.queueWorkflowJob({ repository: REPO, labels: [label, 'never-matches'], steps: ['true'] });
    github.setRunnerExitWithoutJob(name);
    const encoded = await jitConfig(github, name, [label]);

    const { exitCode, logs } = await exitOf(run(LOCKED_DOWN, [ACTIONS_IMAGE, './run.sh', '--jitconfig', encoded]));

    expect(exitCode).toBe(0);
    expect(logs).toContain('The runner no longer exists on the server.');
    expect(github.runners().some((r) => r.name === name)).toBe(false);
    expect(github.workflowJob(job.id)?.status).toBe('queued');
    github.cancelWorkflowJob(job.id);
  });

  it('on `docker stop` cancels its running job, closes its session and exits 143 (run.sh passes the interrupted wait on)', async () => {
    const name = uniqueName('stop');
    const label = uniqueName('label');
    const job = github.queueWorkflowJob({ repository: REPO, labels: [label], steps: ['echo started; sleep 60'] });
    const encoded = await jitConfig(github, name, [label]);
    const id = run([...LOCKED_DOWN, '-e', `ACTIONS_RUNNER_INPUT_JITCONFIG=${encoded}`], [ACTIONS_IMAGE, './run.sh']);
    await waitFor(() => github.workflowJob(job.id)?.status === 'in_progress', {
      timeoutMs: 20_000,
      description: 'the runner to take the job',
    });

    // Asynchronously: the fake lives in this process and must answer the runner while it shuts down.
    const started = Date.now();
    await promisify(execFile)('docker', ['stop', '-t', '20', id]);
    const { exitCode, logs } = await exitOf(id);

    expect(Date.now() - started).toBeLessThan(10_000);
    expect(exitCode).toBe(143);
    expect(logs).toContain('Job build completed with result: Canceled');
    expect(github.workflowJob(job.id)?.conclusion).toBe('cancelled');
  });

  it('gives each of two jobs its own result when any idle runner may take any job (random assignment)', async () => {
    const fake = await FakeGitHub.start({ token: TOKEN, listenHost: gateway, assignment: 'random', longPollMs: 2_000 });
    try {
      const label = uniqueName('pool');
      const passing = fake.queueWorkflowJob({ repository: REPO, labels: [label], steps: ['true'], name: 'passing' });
      const failing = fake.queueWorkflowJob({ repository: REPO, labels: [label], steps: ['exit 3'], name: 'failing' });
      const names = [uniqueName('a'), uniqueName('b')];
      const ids = [];
      for (const name of names) {
        const encoded = await jitConfig(fake, name, [label]);
        ids.push(run([...LOCKED_DOWN, '-e', `ACTIONS_RUNNER_INPUT_JITCONFIG=${encoded}`], [ACTIONS_IMAGE, './run.sh']));
      }
      const exits = await Promise.all(ids.map((id) => exitOf(id)));

      expect(exits.map((e) => e.exitCode)).toEqual([0, 0]);
      const results = [await completed(fake, passing.id), await completed(fake, failing.id)];
      expect(results.map((j) => j.conclusion)).toEqual(['success', 'failure']);
      expect(results[1].stepResults).toEqual([expect.objectContaining({ exitCode: 3 })]);
      expect(new Set(results.map((j) => j.runnerName))).toEqual(new Set(names));
    } finally {
      await fake.stop();
    }
  });
});

describe('runnerhub-test/myoung34-runner (the contract of myoung34/github-runner)', () => {
  function tokenEnv(token: string, name: string, label: string): string[] {
    return [
      ['REPO_URL', ghes.runnerUrl(REPO)],
      ['RUNNER_TOKEN', token],
      ['RUNNER_NAME', name],
      ['LABELS', label],
      ['EPHEMERAL', '1'],
      ['DISABLE_AUTO_UPDATE', '1'],
    ].flatMap(([key, value]) => ['-e', `${key}=${value}`]);
  }

  it('has the real entrypoint and command, and fails as root under CapDrop ALL (its files belong to 1001:121)', async () => {
    const config = imageConfig(MYOUNG34_IMAGE);
    expect(config).toMatchObject({
      User: '',
      WorkingDir: '/actions-runner',
      Entrypoint: ['/entrypoint.sh'],
      Cmd: ['./bin/Runner.Listener', 'run', '--startuptype', 'service'],
    });
    const label = uniqueName('root');
    const job = ghes.queueWorkflowJob({ repository: REPO, labels: [label], steps: ['true'] });

    const asRoot = await exitOf(
      run(LOCKED_DOWN, [...tokenEnv(await registrationToken(ghes), uniqueName('r'), label), MYOUNG34_IMAGE]),
    );
    expect(asRoot.exitCode).not.toBe(0);
    expect(asRoot.logs).toContain('Permission denied');
    expect(asRoot.logs).toContain('Not configured');

    const gosu = await exitOf(
      run(
        [...LOCKED_DOWN, '-e', 'RUN_AS_ROOT=false'],
        [...tokenEnv(await registrationToken(ghes), uniqueName('g'), label), MYOUNG34_IMAGE],
      ),
    );
    expect(gosu.exitCode).not.toBe(0);
    expect(gosu.logs).toMatch(/chown: .*Operation not permitted/);
    expect(gosu.logs).toContain('error: failed switching to "runner": operation not permitted');

    expect(ghes.workflowJob(job.id)?.status).toBe('queued');
    ghes.cancelWorkflowJob(job.id);
  });

  it('has no JIT support in its entrypoint: with a JIT config in a variable it does not know, it exits non-zero', async () => {
    const encoded = await jitConfig(ghes, uniqueName('jit'), ['x']);
    const { exitCode, logs } = await exitOf(
      run(
        [
          ...MYOUNG34_LOCKED_DOWN,
          ...['-e', `REPO_URL=${ghes.runnerUrl(REPO)}`],
          ...['-e', `RUNNER_JITCONFIG=${encoded}`],
        ],
        [MYOUNG34_IMAGE],
      ),
    );
    expect(logs).toContain('Invalid configuration provided for token');
    expect(logs).toContain('Not configured');
    expect(exitCode).toBe(1);
  });

  it('yet its CMD is the listener itself, which takes ACTIONS_RUNNER_INPUT_JITCONFIG after config.sh failed', async () => {
    const name = uniqueName('m34jit');
    const label = uniqueName('label');
    const job = ghes.queueWorkflowJob({ repository: REPO, labels: [label], steps: ['echo via-jit'] });
    const encoded = await jitConfig(ghes, name, [label]);
    const { exitCode, logs } = await exitOf(
      run(
        [
          ...MYOUNG34_LOCKED_DOWN,
          ...['-e', `REPO_URL=${ghes.runnerUrl(REPO)}`],
          ...['-e', `ACTIONS_RUNNER_INPUT_JITCONFIG=${encoded}`],
        ],
        [MYOUNG34_IMAGE],
      ),
    );
    expect(logs).toContain('Invalid configuration provided for token');
    expect(logs).toContain('\nvia-jit\n');
    expect(exitCode).toBe(0);
    expect((await completed(ghes, job.id)).runnerName).toBe(name);
  });

  it('runs a job locked down as 1001:121 with RUN_AS_ROOT=false, DISABLE_AUTO_UPDATE=1', async () => {
    const name = uniqueName('m34');
    const label = uniqueName('label');
    const job = ghes.queueWorkflowJob({ repository: REPO, labels: [label], steps: ['id -u', 'pwd', 'echo hi'] });

    const { exitCode, logs } = await exitOf(
      run(MYOUNG34_LOCKED_DOWN, [...tokenEnv(await registrationToken(ghes), name, label), MYOUNG34_IMAGE]),
    );

    expect(exitCode).toBe(0);
    expect((await completed(ghes, job.id)).conclusion).toBe('success');
    for (const line of ['1001', `/_work/${name}/app/app`, 'hi']) expect(logs).toContain(`\n${line}\n`);
    expect(ghes.runners().some((r) => r.name === name)).toBe(false);
  });
});
