import { AppConfig, EventPublisher, PoolEvent, RunnerPoolSetting } from '@app/common';
import { EngineRegistry } from '@app/docker';
import { ContainerLifecycleManager } from '@app/lifecycle';
import { RunnerStatus } from '@app/persistence';
import { Injectable } from '@nestjs/common';
import { RunnerContainerConfig } from '../runner-container.config';
import { RunnerImageFamilies } from '../runner-images';
import { RunnerRegistrations } from '../runner-registrations.service';
import { RunnerPools } from './runner-pools';
import { RunnerContainerRemover } from '../runner-container.remover';

export const POOL_ACTOR = 'runner-pool';

/**
 * Makes one idle runner of a warm pool, as the provisioner makes a job's: registered with GitHub (just in time when
 * the image takes it), its container created under the pool's profile and the runner limits, and started, so that it
 * comes online and waits for GitHub to hand it a job. Its container belongs to no job yet, so it holds a slot of
 * MAX_CONCURRENT_CONTAINERS on its own, and placement chooses its engine as for any container. A step that fails
 * undoes the ones before it: nothing is left registered on GitHub or on an engine.
 */
@Injectable()
export class PoolRunnerFactory {
  constructor(
    private readonly pools: RunnerPools,
    private readonly registrations: RunnerRegistrations,
    private readonly containerConfig: RunnerContainerConfig,
    private readonly lifecycle: ContainerLifecycleManager,
    private readonly runnerContainers: RunnerContainerRemover,
    private readonly families: RunnerImageFamilies,
    private readonly engines: EngineRegistry,
    private readonly events: EventPublisher,
    private readonly config: AppConfig,
  ) {}

  async make(pool: RunnerPoolSetting): Promise<void> {
    const image = this.pools.imageOf(pool);
    const profile = this.pools.profileOf(pool);
    // Placement picks the engine when the container is created: the image is made present on each engine first
    // (a look, where it is there already), and an engine that does not answer is left to placement to pass over.
    await Promise.allSettled(
      this.engines.all().map((engine) => engine.images.ensure(image, this.config.runners.pullPolicy)),
    );
    const family = this.families.current;
    const registered = await this.registrations.registerForPool(pool, {
      profile,
      accepts: { jitConfig: family.acceptsJitConfig, registrationToken: family.acceptsRegistrationToken },
    });
    const runnerId = registered.runner.id;
    let containerId: string | null = null;
    try {
      const { config, limits, security } = this.containerConfig.build(
        repositoryOf(pool, this.config),
        registered,
        { ref: image, digest: null },
        profile,
      );
      containerId = await this.lifecycle.createContainer(runnerId, null, config, limits, security, POOL_ACTOR);
      await this.registrations.markStatus(runnerId, RunnerStatus.Idle, containerId);
      await this.lifecycle.start(containerId, POOL_ACTOR);
    } catch (error) {
      if (containerId) {
        await this.runnerContainers.remove(containerId, POOL_ACTOR, 'pool runner withdrawn: its start failed');
      }
      await this.registrations.release(runnerId, 'its pool start failed');
      throw error;
    }
    this.events.publish(PoolEvent.RunnerStarted, {
      pool: pool.name,
      runnerId,
      runnerName: registered.runner.name,
      containerId,
      jobId: null,
      reason: `started ahead of demand for pool ${pool.name}`,
      at: new Date().toISOString(),
    });
  }
}

/**
 * The repository recorded on a pool runner's container: the pool's own under repository scope; under organisation
 * scope none is known until GitHub hands the runner a job.
 */
function repositoryOf(pool: RunnerPoolSetting, config: AppConfig): string | null {
  return config.orchestration.runnerScope === 'repository' ? pool.scope : null;
}
