import { ServiceProcess } from './service-process';

/** The periodic duties the drills watch (libs/persistence/src/leadership/duties.ts; `runner-pools` is idle without RUNNER_POOLS). */
export const DUTIES = [
  'cleanup',
  'retention',
  'stale-sweep',
  'monitoring-stats',
  'monitoring-health',
  'engine-probe',
] as const;
export type Duty = (typeof DUTIES)[number];

/** What one replica's GET /metrics says of the duties: whether it leads each, and how often it ran each. */
export interface DutyView {
  leads: Record<Duty, boolean>;
  runs: Record<Duty, number>;
}

export async function dutyView(replica: ServiceProcess): Promise<DutyView> {
  const text = await (await fetch(`${replica.baseUrl}/metrics`)).text();
  const value = (name: string, duty: Duty) => {
    const line = text.split('\n').find((candidate) => candidate.startsWith(`${name}{duty="${duty}"} `));
    if (!line) throw new Error(`${name}{duty="${duty}"} is missing from ${replica.baseUrl}/metrics`);
    return Number(line.slice(line.lastIndexOf(' ') + 1));
  };
  const leads = {} as Record<Duty, boolean>;
  const runs = {} as Record<Duty, number>;
  for (const duty of DUTIES) {
    leads[duty] = value('runnerhub_duty_leader', duty) === 1;
    runs[duty] = value('runnerhub_duty_runs_total', duty);
  }
  return { leads, runs };
}

/** Every replica's view at (nearly) one instant, and the replicas leading each duty in it. */
export async function sampleDutyLeaders(replicas: ServiceProcess[]) {
  const views = await Promise.all(replicas.map((replica) => dutyView(replica)));
  const leaders = Object.fromEntries(
    DUTIES.map((duty) => [duty, replicas.filter((_, index) => views[index].leads[duty])]),
  ) as Record<Duty, ServiceProcess[]>;
  return { views, leaders };
}
