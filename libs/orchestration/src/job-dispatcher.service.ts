import { AppConfig, errorMessage, JobState } from '@app/common';
import { DutyLeadership, JobRepository, runnerPlacementNeed } from '@app/persistence';
import { Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { SchedulerRegistry } from '@nestjs/schedule';
import { JobTransitions } from './job-transitions.service';
import { PoolHandoff } from './pools';
import { RunnerProvisioner } from './runner-provisioner.service';
import { StaleJobSweeper } from './stale-job.sweeper';

const SWEEP_INTERVAL = 'orchestration:dispatch-sweep';
const BACKOFF_WAKE = 'orchestration:backoff-wake';

/**
 * Hands queued jobs to runners while fewer than MAX_CONCURRENT_CONTAINERS hold a slot. It runs when something
 * changes (a job queued, a job finished) and on a timer, which also catches work of other replicas and back-offs
 * that have run out. One drain at a time: a kick during a drain makes it go round once more rather than start a
 * second one. Claims are made in the database, so replicas share the queue and the limit.
 */
@Injectable()
export class JobDispatcher implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(JobDispatcher.name);
  private draining: Promise<void> | null = null;
  private kickedWhileDraining = false;
  private stopping = false;
  private readonly provisioning = new Set<Promise<void>>();
  /** Jobs this process is making a runner for right now. */
  private readonly inFlight = new Set<string>();

  constructor(
    private readonly config: AppConfig,
    private readonly jobs: JobRepository,
    private readonly transitions: JobTransitions,
    private readonly provisioner: RunnerProvisioner,
    private readonly sweeper: StaleJobSweeper,
    private readonly scheduler: SchedulerRegistry,
    private readonly leadership: DutyLeadership,
    private readonly poolHandoff: PoolHandoff,
  ) {}

  onApplicationBootstrap(): void {
    const timer = setInterval(() => void this.sweepAndKick(), this.config.orchestration.dispatchIntervalMs);
    this.scheduler.addInterval(SWEEP_INTERVAL, timer);
    void this.sweepAndKick();
  }

  async onApplicationShutdown(): Promise<void> {
    this.stopping = true;
    this.clearTimer(SWEEP_INTERVAL, 'interval');
    this.clearTimer(BACKOFF_WAKE, 'timeout');
    // Let runners being made finish their step; an interrupted one is found by the stale sweep of the next start.
    await Promise.allSettled([this.draining, ...this.provisioning]);
  }

  /** Something changed: look at the queue now. */
  kick(): void {
    if (this.stopping) return;
    if (this.draining) {
      this.kickedWhileDraining = true;
      return;
    }
    this.draining = this.drain()
      .catch((error: unknown) => this.logger.error(`Dispatching failed: ${errorMessage(error)}`))
      .finally(() => {
        this.draining = null;
      });
  }

  /** Provisioning still under way in this process (the stale sweep leaves those jobs alone). */
  isProvisioning(jobId: string): boolean {
    return this.inFlight.has(jobId);
  }

  private async drain(): Promise<void> {
    do {
      this.kickedWhileDraining = false;
      // Idle pool runners first: a job a warm pool serves starts at once, and takes no new slot.
      await this.poolHandoff.handOut();
      for (;;) {
        if (this.stopping) return;
        const job = await this.jobs.claimNext(this.config.maxConcurrentContainers, {
          mode: this.config.placement.mode,
          need: () => runnerPlacementNeed(this.config),
        });
        if (!job) break;
        this.transitions.announce(job, JobState.Queued, 'claimed by the dispatcher');
        this.poolHandoff.noteMiss(job);
        this.inFlight.add(job.id);
        const task = this.provisioner
          .provision(job)
          // A failure even to record the failure (the database away): the stale sweep takes the job up later.
          .catch((error: unknown) => this.logger.error(`Provisioning job ${job.id} failed: ${errorMessage(error)}`))
          .finally(() => {
            this.inFlight.delete(job.id);
            this.provisioning.delete(task);
            // A retry re-queued the job, or a failure freed its slot: look again.
            this.kick();
          });
        this.provisioning.add(task);
      }
    } while (this.kickedWhileDraining);
    await this.wakeForNextBackoff();
  }

  private async sweepAndKick(): Promise<void> {
    if (this.stopping) return;
    try {
      // One replica sweeps (and asks GitHub about overdue jobs); every replica dispatches.
      await this.leadership.runIfLeader('stale-sweep', () => this.sweeper.sweep((jobId) => this.isProvisioning(jobId)));
    } catch (error) {
      this.logger.warn(`Sweeping jobs failed: ${errorMessage(error)}`);
    }
    this.kick();
  }

  /** A job waiting out a back-off is claimable at a known instant: wake then, not a sweep interval later. */
  private async wakeForNextBackoff(): Promise<void> {
    const next = await this.jobs.nextAvailableAt();
    this.clearTimer(BACKOFF_WAKE, 'timeout');
    // One already due is blocked by the limit, not by time: a finishing job kicks the dispatcher then.
    if (!next || next.getTime() <= Date.now() || this.stopping) return;
    const delay = Math.max(0, next.getTime() - Date.now()) + 5;
    this.scheduler.addTimeout(
      BACKOFF_WAKE,
      setTimeout(() => {
        this.clearTimer(BACKOFF_WAKE, 'timeout');
        this.kick();
      }, delay),
    );
  }

  private clearTimer(name: string, kind: 'interval' | 'timeout'): void {
    if (kind === 'interval' && this.scheduler.doesExist('interval', name)) this.scheduler.deleteInterval(name);
    if (kind === 'timeout' && this.scheduler.doesExist('timeout', name)) this.scheduler.deleteTimeout(name);
  }
}
