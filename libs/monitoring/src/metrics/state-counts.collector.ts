import { CONTAINER_STATES, JobState } from '@app/common';
import { ContainerRecordRepository, JobRepository } from '@app/persistence';
import { Inject, Injectable, Logger } from '@nestjs/common';
import { Gauge, Registry } from 'prom-client';
import { METRICS_REGISTRY } from './metrics.tokens';

type CountByState = () => Promise<Record<string, number>>;

/**
 * `runnerhub_containers{state}` and `runnerhub_jobs{state}`, counted in the database when Prometheus scrapes (one
 * GROUP BY each), so they are right across replicas and restarts, which counting events in memory would not be.
 * Every state of the table is listed, 0 when none, so a state that empties shows 0 rather than vanishing.
 */
@Injectable()
export class StateCountsCollector {
  private readonly logger = new Logger(StateCountsCollector.name);
  /** Gauges whose last count failed: logged once when it starts failing and once when it recovers, not per scrape. */
  private readonly failing = new Set<string>();

  constructor(
    @Inject(METRICS_REGISTRY) registry: Registry,
    containers: ContainerRecordRepository,
    jobs: JobRepository,
  ) {
    this.define(registry, 'runnerhub_containers', 'Container records in each state.', CONTAINER_STATES, () =>
      containers.countByState(),
    );
    this.define(registry, 'runnerhub_jobs', 'Jobs in each state.', Object.values(JobState), () => jobs.countByState());
  }

  private define(registry: Registry, name: string, help: string, states: readonly string[], count: CountByState) {
    const gauge: Gauge<'state'> = new Gauge({
      name,
      help,
      labelNames: ['state'],
      registers: [registry],
      collect: () => this.fill(name, gauge, states, count),
    });
  }

  private async fill(name: string, gauge: Gauge<'state'>, states: readonly string[], count: CountByState) {
    let counts: Record<string, number>;
    try {
      counts = await count();
    } catch (error) {
      // The database is away: no series rather than stale ones; the scrape itself still answers (process metrics).
      gauge.reset();
      if (!this.failing.has(name)) {
        this.failing.add(name);
        this.logger.warn(`${name} left out of the metrics: ${error instanceof Error ? error.message : String(error)}`);
      }
      return;
    }
    if (this.failing.delete(name)) this.logger.log(`${name} is counted again`);
    gauge.reset();
    for (const state of states) gauge.set({ state }, counts[state] ?? 0);
    // A state the table no longer knows (rows older than a rename) still shows rather than hiding rows.
    for (const [state, value] of Object.entries(counts)) if (!states.includes(state)) gauge.set({ state }, value);
  }
}
