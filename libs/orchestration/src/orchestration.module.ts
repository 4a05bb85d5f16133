import { DockerModule } from '@app/docker';
import { LifecycleModule } from '@app/lifecycle';
import { PersistenceModule } from '@app/persistence';
import { Module } from '@nestjs/common';
import { ContainerOrchestrator } from './container-orchestrator.service';
import { GitHubModule } from './github';
import { JobDispatcher } from './job-dispatcher.service';
import { JobIntake } from './job-intake.service';
import { JobPolicy } from './job-policy';
import { JobRetryPolicy } from './job-retry.policy';
import { JobSettlement } from './job-settlement.service';
import { GitHubJobLedger } from './github-job.ledger';
import { JobTransitions } from './job-transitions.service';
import { RunnerImageWarmup } from './runner-image.warmup';
import { RunnerImageFamilies } from './runner-images';
import { RunnerProfiles } from './runner-profiles';
import { EngineLossResponder } from './engine-loss.responder';
import { OrchestrationEventsListener } from './orchestration-events.listener';
import { RunnerContainerConfig } from './runner-container.config';
import { RunnerContainerRemover } from './runner-container.remover';
import { RunnerProvisioner } from './runner-provisioner.service';
import { RunnerRegistrations } from './runner-registrations.service';
import { StaleJobSweeper } from './stale-job.sweeper';
import { WorkflowJobIntake } from './workflow-job-intake.service';
import { PoolHandoff, PoolRunnerFactory, RunnerPoolKeeper, RunnerPools, RunnerPoolStatus } from './pools';

/**
 * Jobs in, runners out: the queue and its dispatcher, runner registration with GitHub, the webhook intake, and the
 * ContainerOrchestrator that the HTTP layer talks to. Needs AppConfig, EventEmitterModule and ScheduleModule from
 * the application.
 */
@Module({
  imports: [DockerModule, PersistenceModule, LifecycleModule, GitHubModule],
  providers: [
    JobTransitions,
    JobPolicy,
    JobIntake,
    JobRetryPolicy,
    JobSettlement,
    GitHubJobLedger,
    RunnerProfiles,
    RunnerImageFamilies,
    RunnerImageWarmup,
    RunnerRegistrations,
    RunnerContainerConfig,
    RunnerProvisioner,
    RunnerContainerRemover,
    StaleJobSweeper,
    RunnerPools,
    PoolRunnerFactory,
    PoolHandoff,
    RunnerPoolKeeper,
    RunnerPoolStatus,
    JobDispatcher,
    WorkflowJobIntake,
    OrchestrationEventsListener,
    EngineLossResponder,
    ContainerOrchestrator,
  ],
  exports: [ContainerOrchestrator, RunnerPoolStatus],
})
export class OrchestrationModule {}
