import { DUTIES, DutyLeadership } from '@app/persistence';
import { Inject, Injectable } from '@nestjs/common';
import { Counter, Gauge, Registry } from 'prom-client';
import { METRICS_REGISTRY } from './metrics.tokens';

/**
 * `runnerhub_duty_leader{duty}` (1 on the replica that leads the duty) and `runnerhub_duty_runs_total{duty}` (ticks
 * this replica ran), read from DutyLeadership at scrape time: scraping every replica shows who leads what, and that
 * only the leader's runs grow.
 */
@Injectable()
export class DutyLeadershipCollector {
  constructor(@Inject(METRICS_REGISTRY) registry: Registry, leadership: DutyLeadership) {
    new Gauge({
      name: 'runnerhub_duty_leader',
      help: 'Whether this replica leads the periodic duty (1) or not (0); on PostgreSQL one replica leads each duty.',
      labelNames: ['duty'],
      registers: [registry],
      collect() {
        for (const duty of DUTIES) this.set({ duty }, leadership.isLeader(duty) ? 1 : 0);
      },
    });
    new Counter({
      name: 'runnerhub_duty_runs_total',
      help: 'Runs of each periodic duty on this replica (only the leader of a duty runs it).',
      labelNames: ['duty'],
      registers: [registry],
      collect() {
        // The count lives with the leadership, which knows nothing of metrics: copied in, never decreasing.
        this.reset();
        for (const duty of DUTIES) this.inc({ duty }, leadership.runs(duty));
      },
    });
  }
}
