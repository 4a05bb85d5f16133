import type { MultiplexedStreamName } from './stream-demux';

export interface CollectedOutput {
  stdout: string;
  stderr: string;
  output: string;
  truncated: boolean;
}

/**
 * Keeps an exec's output up to a byte cap shared by stdout and stderr, in arrival order. Past the cap bytes are
 * counted and dropped, not buffered, so a command that prints gigabytes costs no memory while the caller still learns
 * its exit code.
 */
export class ExecOutputCollector {
  private readonly stdout: Buffer[] = [];
  private readonly stderr: Buffer[] = [];
  private readonly interleaved: Buffer[] = [];
  private kept = 0;
  private dropped = 0;

  constructor(private readonly maxBytes: number) {}

  add(stream: MultiplexedStreamName, data: Buffer): void {
    if (stream === 'stdin' || data.length === 0) return;
    const room = this.maxBytes - this.kept;
    const take = data.length <= room ? data.length : utf8Boundary(data, Math.max(room, 0));
    this.dropped += data.length - take;
    if (take === 0) return;
    const piece = take === data.length ? data : data.subarray(0, take);
    (stream === 'stdout' ? this.stdout : this.stderr).push(piece);
    this.interleaved.push(piece);
    this.kept += take;
  }

  get droppedBytes(): number {
    return this.dropped;
  }

  result(): CollectedOutput {
    return {
      stdout: Buffer.concat(this.stdout).toString('utf8'),
      stderr: Buffer.concat(this.stderr).toString('utf8'),
      output: Buffer.concat(this.interleaved).toString('utf8'),
      truncated: this.dropped > 0,
    };
  }
}

/** The largest cut at or below limit that does not split a UTF-8 character, so the kept text ends cleanly. */
function utf8Boundary(data: Buffer, limit: number): number {
  let cut = Math.min(limit, data.length);
  // 0b10xxxxxx is a continuation byte: the character it belongs to started before the cut.
  while (cut > 0 && cut < data.length && (data[cut] & 0xc0) === 0x80) cut--;
  return cut;
}
