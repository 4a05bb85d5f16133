import type { PlacementMode } from '@app/common';
import type { EngineEntity } from '../entities';

/** What the placement reads of an engine row. */
export type PlacementEngine = Pick<
  EngineEntity,
  'name' | 'labels' | 'state' | 'memoryMb' | 'cpuMillis' | 'maxContainers' | 'infoMemoryMb'
>;

/** What an engine already carries: live containers and the reservations of jobs placed there. */
export interface EngineLoad {
  containers: number;
  memoryMb: number;
  cpuMillis: number;
}

/** The limits one more container is given (memory in MiB, CPU quota in thousandths of a CPU). */
export interface PlacementNeed {
  memoryMb: number;
  cpuMillis: number;
}

export interface PlacementRequest extends PlacementNeed {
  /** The job's runs-on labels (or an API container's); those that are some engine's label must be on the engine. */
  labels: string[];
  /**
   * Every one of `labels` is an engine label the engine must carry, even one no engine has (an API caller asking for
   * engine labels by name), rather than only those some engine carries (a job's runs-on labels, mostly the runner's).
   */
  engineLabelsOnly?: boolean;
  /** Only this engine may take it. */
  engineName?: string;
}

/**
 * Why nothing fits: `unknown-engine` (a pinned engine that does not exist), `labels` (no engine carries them),
 * `not-active` (those that do are draining, drained or unreachable), `room` (those that are active are full).
 */
export type WaitingCause = 'unknown-engine' | 'labels' | 'not-active' | 'room';

export type PlacementDecision = { engineName: string; reason: string } | { waiting: string; cause: WaitingCause };

/** Every engine counts as empty until its load is known. */
const NO_LOAD: EngineLoad = { containers: 0, memoryMb: 0, cpuMillis: 0 };

/** One capacity dimension of one engine: how much it may hold (null: unlimited) and how much is taken. */
interface Dimension {
  total: number | null;
  used: number;
  need: number;
}

interface Candidate {
  engine: PlacementEngine;
  load: EngineLoad;
  slots: Dimension;
  memory: Dimension;
  cpu: Dimension;
}

/**
 * Chooses the engine for one more container, or says in an operator's words why none can take it.
 *
 * Labels: of the requested labels, those that some engine of the table carries (whatever its state) are engine
 * labels (`gpu`, `arm64`) the engine must have; the others (`self-hosted`, `linux`, `x64`) are the runner's and do not
 * constrain the engine. Capacity: at most `maxContainers` containers, `memoryMb` of memory limits and `cpuMillis` of
 * CPU quotas, each as the operator gave it. A memory limit and a CPU quota are ceilings the kernel enforces, not
 * reservations, so the MemTotal and NCPU of `info` are shown to the operator but never enforced. Not given means
 * unlimited (MAX_CONCURRENT_CONTAINERS still caps the whole fleet).
 *
 * `spread` takes the fitting engine with the most room left (lowest fraction used, after placing, of its tightest
 * dimension; then fewest containers; then name); `pack` the one with the least room left that still fits (then most
 * containers; then name), so that idle engines stay empty and can be switched off.
 */
export function chooseEngine(
  engines: readonly PlacementEngine[],
  loads: ReadonlyMap<string, EngineLoad>,
  request: PlacementRequest,
  mode: PlacementMode,
): PlacementDecision {
  const pinned = request.engineName;
  const eligible = pinned === undefined ? engines : engines.filter((engine) => engine.name === pinned);
  if (eligible.length === 0) {
    const waiting = pinned !== undefined ? `no engine is named ${pinned}` : 'no engine is configured';
    return { waiting, cause: 'unknown-engine' };
  }

  const required = request.engineLabelsOnly
    ? [...new Set(request.labels.map((label) => label.toLowerCase()))]
    : requiredEngineLabels(engines, request.labels);
  const labelled = eligible.filter((engine) => carriesAll(engine, required));
  const withLabels = required.length > 0 ? ` with the labels ${required.join(', ')}` : '';
  if (labelled.length === 0) {
    const waiting =
      pinned !== undefined
        ? `engine ${pinned} does not have the labels ${required.filter((l) => !carriesAll(eligible[0], [l])).join(', ')}`
        : `no active engine has the labels ${required.join(', ')}`;
    return { waiting, cause: 'labels' };
  }

  const active = labelled.filter((engine) => engine.state === 'active');
  if (active.length === 0) {
    const states = labelled.map((engine) => `${engine.name} (${engine.state})`).join(', ');
    const waiting =
      pinned !== undefined
        ? `engine ${states} takes no new containers`
        : required.length > 0
          ? `engines${withLabels} are unreachable or draining: ${states}`
          : `every engine is unreachable or draining: ${states}`;
    return { waiting, cause: 'not-active' };
  }

  const candidates = active.map((engine) => candidateOf(engine, loads.get(engine.name) ?? NO_LOAD, request));
  const fitting = candidates.filter(fits);
  if (fitting.length === 0) {
    if (pinned !== undefined)
      return { waiting: `engine ${pinned} has no room: ${shortageOf(candidates[0])}`, cause: 'room' };
    const shortages = candidates.map((candidate) => `${candidate.engine.name} ${shortageOf(candidate)}`).join(', ');
    return { waiting: `no engine${withLabels} has room: ${shortages}`, cause: 'room' };
  }

  const chosen = [...fitting].sort(mode === 'pack' ? byLeastRoom : byMostRoom)[0];
  return {
    engineName: chosen.engine.name,
    reason: `engine ${chosen.engine.name}: ${describeRoom(chosen)} (${pinned !== undefined ? 'pinned' : mode})`,
  };
}

/** The requested labels that are an engine label of some engine (in any state), lower case, in request order. */
export function requiredEngineLabels(engines: readonly PlacementEngine[], labels: readonly string[]): string[] {
  const engineLabels = new Set(engines.flatMap((engine) => engine.labels.map((label) => label.toLowerCase())));
  return [...new Set(labels.map((label) => label.toLowerCase()))].filter((label) => engineLabels.has(label));
}

function carriesAll(engine: PlacementEngine, labels: readonly string[]): boolean {
  const own = new Set(engine.labels.map((label) => label.toLowerCase()));
  return labels.every((label) => own.has(label));
}

function candidateOf(engine: PlacementEngine, load: EngineLoad, request: PlacementNeed): Candidate {
  return {
    engine,
    load,
    slots: { total: engine.maxContainers, used: load.containers, need: 1 },
    // Only the operator's figures: a memory limit and a CPU quota are ceilings, not reservations, and runners sized
    // for their worst case rarely all reach it; holding them to `info`'s MemTotal or NCPU would leave most hosts idle.
    memory: { total: engine.memoryMb, used: load.memoryMb, need: request.memoryMb },
    cpu: { total: engine.cpuMillis, used: load.cpuMillis, need: request.cpuMillis },
  };
}

function dimensionFits(dimension: Dimension): boolean {
  return dimension.total === null || dimension.used + dimension.need <= dimension.total;
}

function fits(candidate: Candidate): boolean {
  return dimensionFits(candidate.slots) && dimensionFits(candidate.memory) && dimensionFits(candidate.cpu);
}

/** The fraction used, once placed, of the engine's tightest known dimension; 0 when every dimension is unlimited. */
function tightestFraction(candidate: Candidate): number {
  const fractions = [candidate.slots, candidate.memory, candidate.cpu]
    .filter((dimension): dimension is Dimension & { total: number } => dimension.total !== null)
    .map((dimension) => (dimension.total > 0 ? (dimension.used + dimension.need) / dimension.total : 1));
  return Math.max(0, ...fractions);
}

function byMostRoom(a: Candidate, b: Candidate): number {
  return (
    tightestFraction(a) - tightestFraction(b) ||
    a.load.containers - b.load.containers ||
    a.engine.name.localeCompare(b.engine.name)
  );
}

function byLeastRoom(a: Candidate, b: Candidate): number {
  return (
    tightestFraction(b) - tightestFraction(a) ||
    b.load.containers - a.load.containers ||
    a.engine.name.localeCompare(b.engine.name)
  );
}

/** `3.1 GiB free of 8, 2 CPUs free of 4, 2 of 10 slots`, as the engine stood before this placement. */
function describeRoom(candidate: Candidate): string {
  const { memory, cpu, slots } = candidate;
  const parts = [
    memory.total === null ? 'memory unlimited' : `${gib(memory.total - memory.used)} GiB free of ${gib(memory.total)}`,
  ];
  if (cpu.total !== null) parts.push(`${cpus(cpu.total - cpu.used)} free of ${figure(cpu.total / 1000)}`);
  parts.push(
    slots.total === null
      ? `${slots.used} ${slots.used === 1 ? 'container' : 'containers'}, no slot limit`
      : `${slots.used} of ${slots.total} slots`,
  );
  return parts.join(', ');
}

/** What is short on an engine that cannot take the request: `0.5 GiB free of 8 (needs 2) and 10 of 10 slots`. */
function shortageOf(candidate: Candidate): string {
  const { memory, cpu, slots } = candidate;
  const short: string[] = [];
  if (!dimensionFits(memory) && memory.total !== null) {
    short.push(`${gib(memory.total - memory.used)} GiB free of ${gib(memory.total)} (needs ${gib(memory.need)})`);
  }
  if (!dimensionFits(cpu) && cpu.total !== null) {
    short.push(`${cpus(cpu.total - cpu.used)} free of ${figure(cpu.total / 1000)} (needs ${figure(cpu.need / 1000)})`);
  }
  if (!dimensionFits(slots)) short.push(`${slots.used} of ${slots.total} slots`);
  return short.join(' and ');
}

/** MiB as GiB with one decimal at most; an overbooked engine (its `info` shrank) shows 0 free, not a negative. */
function gib(mb: number): string {
  return figure(Math.max(0, mb) / 1024);
}

function cpus(millis: number): string {
  const count = Math.max(0, millis) / 1000;
  return `${figure(count)} ${count === 1 ? 'CPU' : 'CPUs'}`;
}

function figure(value: number): string {
  return String(Math.round(value * 10) / 10);
}
