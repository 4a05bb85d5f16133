/**
 * What one replica's public event looks like on the wire to the others (the payload of a PostgreSQL NOTIFY).
 * `origin` lets the sender recognise, and skip, its own notifications; `trimmed` names the payload fields that were
 * shortened to fit, for whoever reads the wire (event stream clients get the payload alone).
 */
export interface ReplicaEventEnvelope {
  origin: string;
  name: string;
  payload: unknown;
  /** ISO 8601, when the replica published it. */
  at: string;
  /**
   * The replica's count of events published, from 1. It keeps two equal events apart: PostgreSQL delivers identical
   * payloads sent in one transaction (one batch of NOTIFYs) only once.
   */
  seq?: number;
  trimmed?: string[];
}

/** PostgreSQL refuses a NOTIFY payload of 8000 bytes or more (the default build's limit). */
export const NOTIFY_PAYLOAD_MAX_BYTES = 7_999;
/** A trimmed text field keeps at least this many characters, enough to say what happened. */
const KEPT_CHARACTERS = 200;
const ELLIPSIS = '…';

export type EncodedEnvelope = { fits: true; text: string; trimmed: string[] } | { fits: false; bytes: number };

/**
 * The envelope as NOTIFY text, within `maxBytes`. Real payloads are a few hundred bytes; one can only grow past the
 * limit through a long text field (an engine's error message as a `reason`). So a payload too large is sent with
 * its longest top-level strings cut (longest first, each to no less than KEPT_CHARACTERS, ending in `…`), which
 * keeps every id, state and name a client filters on intact. If that is not enough (a huge array), the event is not
 * sent at all: the caller counts it. A reference to the row instead would make receivers query the database for
 * each event, for a case that does not occur with today's payloads.
 */
export function encodeEnvelope(envelope: ReplicaEventEnvelope, maxBytes = NOTIFY_PAYLOAD_MAX_BYTES): EncodedEnvelope {
  let text = JSON.stringify(envelope);
  let bytes = Buffer.byteLength(text);
  if (bytes <= maxBytes) return { fits: true, text, trimmed: [] };
  if (typeof envelope.payload !== 'object' || envelope.payload === null || Array.isArray(envelope.payload))
    return { fits: false, bytes };
  const payload: Record<string, unknown> = { ...(envelope.payload as Record<string, unknown>) };
  const longest = Object.keys(payload)
    .filter((key) => typeof payload[key] === 'string' && payload[key].length > KEPT_CHARACTERS)
    .sort((a, b) => (payload[b] as string).length - (payload[a] as string).length);
  const trimmed: string[] = [];
  for (const key of longest) {
    const original = payload[key] as string;
    let keep = original.length;
    trimmed.push(key);
    // Each character weighs at least one byte in the JSON, so cutting the excess in characters nearly always fits at
    // once; the ellipsis and the `trimmed` list may ask for a second, smaller cut.
    while (bytes > maxBytes && keep > KEPT_CHARACTERS) {
      keep = Math.max(KEPT_CHARACTERS, keep - (bytes - maxBytes));
      payload[key] = original.slice(0, keep) + ELLIPSIS;
      text = JSON.stringify({ ...envelope, payload, trimmed });
      bytes = Buffer.byteLength(text);
    }
    if (bytes <= maxBytes) return { fits: true, text, trimmed };
  }
  return { fits: false, bytes };
}

/** The envelope in a NOTIFY payload, or null for anything else (another program on the channel, a newer format). */
export function decodeEnvelope(text: string): ReplicaEventEnvelope | null {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return null;
  }
  if (typeof value !== 'object' || value === null) return null;
  const { origin, name } = value as Partial<ReplicaEventEnvelope>;
  if (typeof origin !== 'string' || typeof name !== 'string' || !('payload' in value)) return null;
  return value as ReplicaEventEnvelope;
}
