import type { EngineEvent } from './engine.types';

const NEWLINE = 0x0a;

/**
 * Cuts the /events body into lines. Chunks end anywhere, even inside a multi-byte UTF-8 character; splitting the raw
 * bytes at 0x0A (which never occurs inside a multi-byte sequence) and decoding whole lines keeps characters intact.
 */
export class LineSplitter {
  private pending: Buffer[] = [];

  push(chunk: Buffer): string[] {
    const lines: string[] = [];
    let start = 0;
    let newline: number;
    while ((newline = chunk.indexOf(NEWLINE, start)) >= 0) {
      this.pending.push(chunk.subarray(start, newline));
      lines.push(Buffer.concat(this.pending).toString('utf8'));
      this.pending = [];
      start = newline + 1;
    }
    if (start < chunk.length) this.pending.push(chunk.subarray(start));
    return lines;
  }

  /** Bytes after the last newline, waiting for the rest of their line. */
  get pendingBytes(): number {
    return this.pending.reduce((sum, piece) => sum + piece.length, 0);
  }
}

export type ParsedEventLine = { ok: true; event: EngineEvent } | { ok: false; reason: string };

interface RawEngineEvent {
  Type?: unknown;
  Action?: unknown;
  status?: unknown;
  id?: unknown;
  Actor?: { ID?: unknown; Attributes?: unknown };
  time?: unknown;
  timeNano?: unknown;
}

/**
 * One /events line into an EngineEvent. timeNano is read from the raw text, because JSON.parse rounds it (values are
 * around 1.8e18, far past 2^53) and the resume position needs it exact. Docker writes the top-level timeNano last,
 * after Actor.Attributes, and an attribute cannot fake it: inside a JSON string every quote is escaped.
 */
export function parseEngineEventLine(line: string): ParsedEventLine {
  const text = line.trim();
  if (text === '') return { ok: false, reason: 'empty line' };
  let raw: RawEngineEvent;
  try {
    raw = JSON.parse(text) as RawEngineEvent;
  } catch (error) {
    return { ok: false, reason: `not JSON (${(error as Error).message}): ${text.slice(0, 200)}` };
  }
  if (!raw || typeof raw !== 'object') return { ok: false, reason: `not an event object: ${text.slice(0, 200)}` };

  const action = typeof raw.Action === 'string' ? raw.Action : typeof raw.status === 'string' ? raw.status : undefined;
  const id = typeof raw.Actor?.ID === 'string' ? raw.Actor.ID : typeof raw.id === 'string' ? raw.id : undefined;
  const time = typeof raw.time === 'number' ? raw.time : undefined;
  if (action === undefined || id === undefined || time === undefined) {
    return { ok: false, reason: `event without action, actor id or time: ${text.slice(0, 200)}` };
  }
  const nanoMatches = [...text.matchAll(/"timeNano":\s*(\d+)/g)];
  const timeNano = nanoMatches.length > 0 ? nanoMatches[nanoMatches.length - 1][1] : `${time}000000000`;
  return {
    ok: true,
    event: {
      type: typeof raw.Type === 'string' ? raw.Type : 'container',
      action,
      id,
      attributes: stringAttributes(raw.Actor?.Attributes),
      time,
      timeNano,
    },
  };
}

function stringAttributes(value: unknown): Record<string, string> {
  if (!value || typeof value !== 'object') return {};
  return Object.fromEntries(
    Object.entries(value).filter((entry): entry is [string, string] => typeof entry[1] === 'string'),
  );
}
