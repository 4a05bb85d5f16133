import { INestApplication } from '@nestjs/common';
import { EventEmitter2 } from '@nestjs/event-emitter';
import { RunnerHubClient, Schemas } from '../client/client';
import { waitFor } from './wait-for';

export interface JobEventRecord {
  name: string;
  jobId: string;
  state: string;
  reason: string;
}

/** Appends every `job:*` event the service publishes to `into`, in order. */
export function recordJobEvents(app: INestApplication, into: JobEventRecord[]): void {
  app.get(EventEmitter2).onAny((event: string | string[], payload: unknown) => {
    const name = String(event);
    if (!name.startsWith('job:')) return;
    const { jobId, state, reason } = payload as { jobId: string; state: string; reason: string };
    into.push({ name, jobId, state, reason });
  });
}

/** Polls GET /api/jobs/:id until the job is in one of `states`. */
export function waitForJobState(
  viewer: RunnerHubClient,
  id: string,
  states: string[],
  timeoutMs: number,
): Promise<Schemas['JobDto']> {
  return waitFor(
    async () => {
      const { data } = await viewer.GET('/api/jobs/{id}', { params: { path: { id } } });
      return data && states.includes(data.data.state) ? data.data : null;
    },
    { timeoutMs, intervalMs: 100, description: `job ${id} to be ${states.join(' or ')}` },
  );
}
