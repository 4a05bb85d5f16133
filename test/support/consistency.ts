import { DockerInspect, docker, inspectContainer } from './engine-cli';

interface RecordSummary {
  id: string;
  engineId: string | null;
  state: string;
}

/**
 * The end of every drill: the database and the engine agree about the containers of one repository. Each open
 * record's container is on the engine and runs exactly when the record says RUNNING; each labelled container on the
 * engine has an open record; and none runs that should not (`allowedRunning` says which may).
 */
export async function expectDatabaseAndEngineAgree(
  baseUrl: string,
  apiKey: string,
  repository: string,
  allowedRunning: (record: RecordSummary) => boolean = () => false,
  { host }: { host?: string } = {},
): Promise<void> {
  const records: RecordSummary[] = [];
  for (let offset = 0; ; offset += 500) {
    const response = await fetch(
      `${baseUrl}/api/containers?repository=${encodeURIComponent(repository)}&limit=500&offset=${offset}`,
      { headers: { authorization: `Bearer ${apiKey}` } },
    );
    const body = (await response.json()) as { data: RecordSummary[]; page: { total: number } };
    records.push(...body.data);
    if (records.length >= body.page.total || body.data.length === 0) break;
  }
  const open = records.filter((record) => record.state !== 'removed');
  const problems: string[] = [];
  for (const record of open) {
    const engine: DockerInspect | null = record.engineId ? inspectContainer(record.engineId, { host }) : null;
    if (!engine) {
      problems.push(`record ${record.id} is ${record.state} but the engine has no container`);
      continue;
    }
    const recordRuns = record.state === 'running';
    if (engine.State.Running !== recordRuns) {
      problems.push(`record ${record.id} is ${record.state} but the engine says ${engine.State.Status}`);
    }
    if (recordRuns && !allowedRunning(record)) problems.push(`container of record ${record.id} still runs`);
  }
  const known = new Set(open.map((record) => record.engineId));
  const labelled = docker(['ps', '-aq', '--no-trunc', '--filter', `label=runnerhub.repository=${repository}`], { host })
    .split('\n')
    .filter(Boolean);
  for (const engineId of labelled) {
    if (!known.has(engineId)) problems.push(`engine container ${engineId.slice(0, 12)} has no open record`);
  }
  if (problems.length > 0) throw new Error(`The database and the engine disagree:\n  ${problems.join('\n  ')}`);
}
