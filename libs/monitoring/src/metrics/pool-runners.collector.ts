import { AppConfig, errorMessage } from '@app/common';
import { PoolRunnerRepository } from '@app/persistence';
import { Inject, Injectable, Logger } from '@nestjs/common';
import { Gauge, Registry } from 'prom-client';
import { METRICS_REGISTRY } from './metrics.tokens';

const STATES = ['ready', 'warming', 'serving'] as const;

/**
 * `runnerhub_pool_runners{pool,state}`: each warm pool's runners, ready (idle and running), warming (idle, being made)
 * or serving (handed a job), counted in the database at scrape time so every replica shows the whole fleet's.
 */
@Injectable()
export class PoolRunnersCollector {
  private readonly logger = new Logger(PoolRunnersCollector.name);

  constructor(@Inject(METRICS_REGISTRY) registry: Registry, config: AppConfig, poolRunners: PoolRunnerRepository) {
    const pools = config.runners.pools.map((pool) => pool.name);
    if (pools.length === 0) return;
    const gauge: Gauge<'pool' | 'state'> = new Gauge({
      name: 'runnerhub_pool_runners',
      help: 'Runners of each warm pool: ready (idle, running), warming (idle, being made) and serving (handed a job).',
      labelNames: ['pool', 'state'],
      registers: [registry],
      collect: async () => {
        let views;
        try {
          views = await poolRunners.listLive();
        } catch (error) {
          gauge.reset();
          this.logger.warn(`Pool runners left out of the metrics: ${errorMessage(error)}`);
          return;
        }
        gauge.reset();
        for (const pool of pools) for (const state of STATES) gauge.set({ pool, state }, 0);
        for (const view of views) {
          if (!view.runner.pool || !pools.includes(view.runner.pool)) continue;
          if (view.phase !== 'ended') gauge.inc({ pool: view.runner.pool, state: view.phase });
        }
      },
    });
  }
}
