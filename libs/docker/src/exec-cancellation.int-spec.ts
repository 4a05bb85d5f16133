import { AppConfigModule, loadAppConfig } from '@app/common';
import { Test, TestingModule } from '@nestjs/testing';
import { randomBytes } from 'node:crypto';
import { removeSuiteContainers, testLabels } from '../../../test/support/docker-cleanup';
import { docker } from '../../../test/support/engine-cli';
import { TEST_IMAGE } from '../../../test/support/test-env';
import { waitFor } from '../../../test/support/wait-for';
import { DockerEngine, DockerModule } from '.';

const SUITE = 'docker-engine-exec-abandoned';

describe('DockerEngine.exec abandoned by its caller, against the real engine', () => {
  let moduleRef: TestingModule;
  let engine: DockerEngine;
  let id: string;

  beforeAll(async () => {
    moduleRef = await Test.createTestingModule({
      imports: [AppConfigModule.forRoot(loadAppConfig({ DOCKER_HOST: process.env.DOCKER_HOST })), DockerModule],
    }).compile();
    await moduleRef.init();
    engine = moduleRef.get(DockerEngine);
  });

  beforeEach(async () => {
    id = await engine.createContainer({
      name: `rh-${SUITE}-${randomBytes(4).toString('hex')}`,
      image: TEST_IMAGE,
      cmd: ['sleep', '300'],
      labels: testLabels(SUITE),
      hostConfig: { NetworkMode: 'none', Init: true },
    });
    await engine.start(id);
  });

  afterEach(() => removeSuiteContainers(engine, SUITE));

  afterAll(async () => {
    await removeSuiteContainers(engine, SUITE);
    await moduleRef?.close();
  });

  const processes = async () => (await engine.exec(id, { command: ['ps', '-o', 'args'] })).stdout;

  it('kills the command, its children and what ignores SIGTERM, and rejects with the reason given', async () => {
    const caller = new AbortController();
    const reason = new Error('the client hung up');
    const command = ['sh', '-c', 'trap "" TERM; sleep 31 & sleep 32; wait'];
    const running = engine.exec(id, { command, timeoutMs: 60_000, user: 'runner' }, caller.signal);
    await waitFor(async () => /sleep 32/.test(await processes()), { description: 'the command to run' });

    const abortedAt = Date.now();
    caller.abort(reason);
    await expect(running).rejects.toBe(reason);
    // Rejected only once the engine no longer runs it, far sooner than the 60 s deadline.
    expect(Date.now() - abortedAt).toBeLessThan(5_000);
    const left = await processes();
    expect(left).not.toMatch(/sleep 3[12]|trap/);
    expect(left).toContain('sleep 300');
  });

  it('creates nothing on the engine for a caller that has already given up', async () => {
    const caller = new AbortController();
    caller.abort(new Error('gone before it began'));
    await expect(engine.exec(id, { command: ['sleep', '30'] }, caller.signal)).rejects.toThrow('gone before it began');
    // Asked of the engine directly: an exec it created, even one never started, would be listed here.
    expect(docker(['inspect', '-f', '{{json .ExecIDs}}', id])).toBe('null');
  });
});
