import { canMoveJob, JobState, loadAppConfig } from '@app/common';
import { ContainerLifecycleManager } from '@app/lifecycle';
import {
  ContainerRecordEntity,
  ContainerRecordRepository,
  JobEntity,
  JobRepository,
  PoolRunnerRepository,
  RunnerEntity,
} from '@app/persistence';
import { GitHubRunnerRegistry } from './github';
import { GitHubJobLedger } from './github-job.ledger';
import { JobRetryPolicy } from './job-retry.policy';
import { JobMove, JobTransitions } from './job-transitions.service';
import { RunnerImageFamilies } from './runner-images';
import { RunnerProfiles } from './runner-profiles';
import { RunnerRegistrations } from './runner-registrations.service';
import { RunnerContainerRemover } from './runner-container.remover';
import { PoolHandoff } from './pools/pool-handoff.service';

/**
 * The ledger's rule, with the database and GitHub replaced at their boundary by maps: every unfinished job points at
 * no more than one runner, every runner at no more than one unfinished job, whatever runner GitHub hands a job.
 */
describe(GitHubJobLedger.name, () => {
  const config = loadAppConfig({ RUNNER_PROFILES: 'docker:docker', JOB_MAX_ATTEMPTS: '3' });
  let jobs: Map<string, JobEntity>;
  let runners: Map<string, RunnerEntity>;
  let released: string[];
  let removedContainers: string[];
  let givenBackToPool: string[];
  /** Jobs counted as pool hits by the ledger (GitHub took an idle pool runner before any hand-out). */
  let ledgerHits: string[];
  let githubSays: { status: string; conclusion: string | null; runnerName: string | null } | null;
  /** What GitHub answers when a runner is removed. */
  let removal: 'removed' | 'already-gone' | 'busy';
  let sut: GitHubJobLedger;

  const job = (id: string, overrides: Partial<JobEntity> = {}): JobEntity => {
    const entity = {
      id,
      state: JobState.Assigned,
      repository: 'acme/app',
      labels: ['self-hosted'],
      githubJobId: `gh-${id}`,
      runnerId: `runner-${id}`,
      containerId: `container-${id}`,
      githubRunnerName: null,
      attempts: 1,
      version: 1,
      ...overrides,
    } as JobEntity;
    jobs.set(id, entity);
    return entity;
  };
  const runner = (jobId: string, overrides: Partial<RunnerEntity> = {}): RunnerEntity => {
    const entity = {
      id: `runner-${jobId}`,
      name: `runnerhub-${jobId}`,
      labels: ['self-hosted'],
      profile: 'strict',
      containerId: `container-${jobId}`,
      githubRunnerId: '41',
      githubJobId: null,
      deregisteredAt: null,
      jobId,
      version: 1,
      ...overrides,
    } as RunnerEntity;
    runners.set(entity.id, entity);
    return entity;
  };

  beforeEach(() => {
    jobs = new Map();
    runners = new Map();
    released = [];
    removedContainers = [];
    givenBackToPool = [];
    ledgerHits = [];
    githubSays = null;
    removal = 'removed';
    const active = (runnerId: string) =>
      [...jobs.values()].filter(
        (j) => j.runnerId === runnerId && [JobState.Queued, JobState.Assigned, JobState.Running].includes(j.state),
      );
    const jobRepository = {
      findById: (id: string) => Promise.resolve(jobs.get(id) ?? null),
      findActiveByRunnerId: (runnerId: string) => Promise.resolve(active(runnerId)),
    } as unknown as JobRepository;
    const transitions = {
      move: (id: string, move: JobMove) => {
        const current = jobs.get(id)!;
        if ((move.from && !move.from.includes(current.state)) || !canMoveJob(current.state, move.to)) {
          return Promise.resolve(null);
        }
        const moved = { ...current, ...move.changes, state: move.to, version: current.version + 1 };
        jobs.set(id, moved);
        return Promise.resolve(moved);
      },
      annotate: (id: string, state: JobState, changes: Partial<JobEntity>) => {
        const current = jobs.get(id)!;
        if (current.state !== state) return Promise.resolve(null);
        const annotated = { ...current, ...changes, version: current.version + 1 };
        jobs.set(id, annotated);
        return Promise.resolve(annotated);
      },
    } as unknown as JobTransitions;
    const registrations = {
      findByName: (name: string) => Promise.resolve([...runners.values()].find((r) => r.name === name) ?? null),
      findById: (id: string) => Promise.resolve(runners.get(id) ?? null),
      findByJobId: (jobId: string) => Promise.resolve([...runners.values()].filter((r) => r.jobId === jobId)),
      findByContainerId: (id: string) =>
        Promise.resolve([...runners.values()].find((r) => r.containerId === id) ?? null),
      markTaken: (r: RunnerEntity, githubJobId: string) => {
        runners.set(r.id, { ...r, githubJobId });
        return Promise.resolve();
      },
      release: (id: string) => {
        released.push(id);
        return Promise.resolve(removal);
      },
    } as unknown as RunnerRegistrations;
    // Container x was placed on engine engine-of-x.
    const containers = {
      reassignJob: () => Promise.resolve(),
      findById: (id: string) =>
        Promise.resolve({ id, engineName: `engine-of-${id}`, placement: `engine engine-of-${id}: (spread)` }),
    } as unknown as ContainerRecordRepository;
    const lifecycle = {
      remove: (id: string) => {
        removedContainers.push(id);
        return Promise.resolve();
      },
    } as unknown as ContainerLifecycleManager;
    const registry = {
      getWorkflowJob: () => Promise.resolve(githubSays),
    } as unknown as GitHubRunnerRegistry;
    sut = new GitHubJobLedger(
      jobRepository,
      containers,
      transitions,
      registrations,
      registry,
      new RunnerContainerRemover(lifecycle),
      new JobRetryPolicy(config),
      new RunnerProfiles(config),
      new RunnerImageFamilies(config),
      {
        giveBack: (r: RunnerEntity) => {
          givenBackToPool.push(r.id);
          return Promise.resolve(true);
        },
      } as unknown as PoolRunnerRepository,
      { noteTakenBy: (j: JobEntity) => ledgerHits.push(j.id) } as unknown as PoolHandoff,
    );
  });

  it('links a job to the runner GitHub gave it, and hands the runner it no longer needs to the job that lost its own', async () => {
    const a = job('a');
    job('b');
    runner('a');
    const runnerOfB = runner('b');

    await sut.started(a, runnerOfB.name);

    // Each job now shows the engine its runner's container was placed on.
    expect(jobs.get('a')).toMatchObject({
      state: JobState.Running,
      runnerId: 'runner-b',
      containerId: 'container-b',
      githubRunnerName: 'runnerhub-b',
      engineName: 'engine-of-container-b',
    });
    expect(jobs.get('b')).toMatchObject({
      state: JobState.Assigned,
      runnerId: 'runner-a',
      containerId: 'container-a',
      engineName: 'engine-of-container-a',
      placement: 'engine engine-of-container-a: (spread)',
    });
    expect(runners.get('runner-b')!.githubJobId).toBe('gh-a');
    expect(released).toEqual([]);
  });

  it('queues the job that lost its runner again when the spare runner does not fit its profile', async () => {
    const a = job('a');
    job('b', { labels: ['self-hosted', 'docker'] });
    runner('a');
    const runnerOfB = runner('b', { labels: ['self-hosted', 'docker'], profile: 'docker' });

    await sut.started(a, runnerOfB.name);

    expect(jobs.get('b')).toMatchObject({ state: JobState.Queued, runnerId: null, containerId: null });
    // Nobody needs a's runner now: it leaves GitHub and its container goes.
    expect(released).toEqual(['runner-a']);
    expect(removedContainers).toEqual(['container-a']);
  });

  it('gives a warm pool’s runner back to its pool when GitHub ran its job elsewhere, rather than withdraw it', async () => {
    const a = job('a', { runnerId: 'runner-pool-1', containerId: 'container-pool-1' });
    runner('pool-1', { jobId: 'a', pool: 'linux' });
    const runnerOfB = runner('b');

    await sut.started(a, runnerOfB.name);

    expect(jobs.get('a')).toMatchObject({ state: JobState.Running, runnerId: 'runner-b' });
    expect(givenBackToPool).toEqual(['runner-pool-1']);
    expect(released).toEqual([]);
    expect(removedContainers).toEqual([]);
  });

  it('gives back a pool runner handed the job after the webhook read it, when GitHub runs the job elsewhere', async () => {
    // The webhook's copy: queued, no runner. Since then the pool handed the job runner pool-1 (committed).
    const asTheWebhookReadIt = job('a', { state: JobState.Queued, runnerId: null, containerId: null });
    jobs.set('a', { ...asTheWebhookReadIt, state: JobState.Assigned, runnerId: 'runner-pool-1', version: 2 });
    runner('pool-1', { jobId: 'a', pool: 'linux' });
    const runnerOfB = runner('b');

    await sut.started(asTheWebhookReadIt, runnerOfB.name);

    expect(jobs.get('a')).toMatchObject({ state: JobState.Running, runnerId: 'runner-b' });
    expect(givenBackToPool).toEqual(['runner-pool-1']);
    expect(released).toEqual([]);
    // The hand-out counted its hit already.
    expect(ledgerHits).toEqual([]);
  });

  it('counts a pool hit when GitHub starts a job on an idle pool runner before any was handed it', async () => {
    const a = job('a', { state: JobState.Queued, runnerId: null, containerId: null });
    const idle = runner('pool-2', { jobId: null, pool: 'linux' });

    await sut.started(a, idle.name);

    expect(jobs.get('a')).toMatchObject({ state: JobState.Running, runnerId: 'runner-pool-2' });
    expect(ledgerHits).toEqual(['a']);
  });

  it('withdraws its own runner when GitHub runs the job on a runner RunnerHub did not make', async () => {
    const a = job('a');
    runner('a');
    await sut.started(a, 'someone-elses-runner');
    expect(jobs.get('a')).toMatchObject({
      state: JobState.Running,
      runnerId: null,
      githubRunnerName: 'someone-elses-runner',
    });
    expect(released).toEqual(['runner-a']);
  });

  it('settles by GitHub’s conclusion: success completes, failure fails, cancelled cancels', async () => {
    for (const [conclusion, state] of [
      ['success', JobState.Completed],
      ['skipped', JobState.Completed],
      ['failure', JobState.Failed],
      ['timed_out', JobState.Failed],
      ['cancelled', JobState.Cancelled],
    ] as const) {
      const running = job(conclusion, { state: JobState.Running, githubRunnerName: `runnerhub-${conclusion}` });
      runner(conclusion, { githubJobId: running.githubJobId });
      await sut.completed(running, conclusion, `runnerhub-${conclusion}`);
      expect(jobs.get(conclusion)).toMatchObject({ state, conclusion });
    }
    expect(jobs.get('failure')!.failureCode).toBe('JOB_FAILED');
  });

  it('gives the job another runner when its runner ends without GitHub giving it a job, after asking GitHub', async () => {
    job('a');
    runner('a');
    githubSays = { status: 'queued', conclusion: null, runnerName: null };
    await sut.runnerEnded({ id: 'container-a', exitCode: 0, state: 'stopped' } as ContainerRecordEntity);
    expect(jobs.get('a')).toMatchObject({ state: JobState.Queued, runnerId: null, refreshImage: false });
    expect(released).toEqual(['runner-a']);
  });

  it('counts the try when the unused runner was still registered on GitHub', async () => {
    job('a', { attempts: 2 });
    runner('a');
    githubSays = { status: 'queued', conclusion: null, runnerName: null };
    await sut.runnerEnded({ id: 'container-a', exitCode: 0, state: 'stopped' } as ContainerRecordEntity);
    expect(jobs.get('a')).toMatchObject({ state: JobState.Queued, attempts: 2, availableAt: expect.any(Date) });
  });

  it('queues the job at once, without counting the try, when GitHub consumed its runner for another job', async () => {
    // The runner's JIT registration is gone on GitHub while the job still waits: GitHub gave it another job.
    job('a', { attempts: 3 });
    runner('a');
    githubSays = { status: 'queued', conclusion: null, runnerName: null };
    removal = 'already-gone';
    await sut.runnerEnded({ id: 'container-a', exitCode: 0, state: 'stopped' } as ContainerRecordEntity);
    expect(jobs.get('a')).toMatchObject({ state: JobState.Queued, attempts: 2, availableAt: null, runnerId: null });
  });

  it('counts the try of a registration-token runner that is not on GitHub: it may never have registered', async () => {
    job('a', { attempts: 3 });
    runner('a', { githubRunnerId: null });
    githubSays = { status: 'queued', conclusion: null, runnerName: null };
    removal = 'already-gone';
    await sut.runnerEnded({ id: 'container-a', exitCode: 1, state: 'stopped' } as ContainerRecordEntity);
    expect(jobs.get('a')).toMatchObject({ state: JobState.Failed, failureCode: 'RUNNER_UNUSED' });
  });

  it('leaves a runner nobody needs running when GitHub refuses its removal because it has handed it a job', async () => {
    const a = job('a');
    job('b', { labels: ['self-hosted', 'docker'] });
    runner('a');
    const runnerOfB = runner('b', { labels: ['self-hosted', 'docker'], profile: 'docker' });
    removal = 'busy';
    await sut.started(a, runnerOfB.name);
    // a's own runner is spare and b cannot take it, but GitHub says it is busy: its job's webhook is on its way.
    expect(released).toEqual(['runner-a']);
    expect(removedContainers).toEqual([]);
  });

  it('follows GitHub when the job ran on another runner, and lets this one go', async () => {
    job('a');
    runner('a');
    githubSays = { status: 'completed', conclusion: 'success', runnerName: 'someone-else' };
    await sut.runnerEnded({ id: 'container-a', exitCode: 0, state: 'stopped' } as ContainerRecordEntity);
    expect(jobs.get('a')).toMatchObject({ state: JobState.Completed, conclusion: 'success' });
    // Released (a second release of a released runner does nothing: RunnerRegistrations checks deregisteredAt).
    expect(new Set(released)).toEqual(new Set(['runner-a']));
  });

  it('asks GitHub for the verdict as soon as the runner of a running job ends: the completed webhook may be lost', async () => {
    job('a', { state: JobState.Running, githubRunnerName: 'runnerhub-a' });
    runner('a', { githubJobId: 'gh-a' });
    githubSays = { status: 'completed', conclusion: 'success', runnerName: 'runnerhub-a' };
    await sut.runnerEnded({ id: 'container-a', exitCode: 0, state: 'stopped' } as ContainerRecordEntity);
    expect(jobs.get('a')).toMatchObject({ state: JobState.Completed, conclusion: 'success' });
    expect(released).toEqual(['runner-a']);
  });

  it('takes GitHub’s word when the in_progress webhook was lost and the runner did run the job', async () => {
    job('a');
    runner('a');
    githubSays = { status: 'completed', conclusion: 'success', runnerName: 'runnerhub-a' };
    await sut.runnerEnded({ id: 'container-a', exitCode: 0, state: 'stopped' } as ContainerRecordEntity);
    expect(jobs.get('a')).toMatchObject({ state: JobState.Completed, conclusion: 'success' });
  });

  it('asks for a fresh image when the runner was too old for GitHub (exit 7)', async () => {
    job('a');
    runner('a');
    githubSays = { status: 'queued', conclusion: null, runnerName: null };
    await sut.runnerEnded({ id: 'container-a', exitCode: 7, state: 'stopped' } as ContainerRecordEntity);
    expect(jobs.get('a')).toMatchObject({ state: JobState.Queued, refreshImage: true, availableAt: null });
  });

  it('completes a job from the API whose runner GitHub gave a job', async () => {
    const a = job('a');
    job('api', { githubJobId: null, state: JobState.Running, runnerId: 'runner-api', containerId: 'container-api' });
    const runnerOfApiJob = runner('api');
    await sut.started(a, runnerOfApiJob.name);
    expect(jobs.get('api')).toMatchObject({ state: JobState.Completed });
  });
});
