import type { LogLine, LogsResult, OutputStream } from './engine.types';
import { StreamDemuxer, StreamDemuxError } from './stream-demux';

interface PendingLine {
  text: string;
  timestamp?: string;
}

/**
 * Reads a non-follow logs stream (multiplexed, as the engine sends it for a container without TTY) into lines, as
 * it arrives, holding only the newest lines that fit in `maxBytes` (each line's text in UTF-8 and its newline): the
 * engine sends oldest first, so the answer's lines are only known once the stream ends, but what is held while
 * reading never exceeds the cap (plus the frame and the unfinished line being read), however much the engine sends.
 * `truncated` says that older lines (or the start of a line longer than the cap) were left out.
 *
 * The engine splits lines longer than 16 KiB into several frames, each with its own timestamp when timestamps are
 * on; the pieces are joined back per stream and the line keeps the first piece's timestamp. A last line without a
 * trailing newline is kept.
 */
export class ContainerLogsReader {
  private readonly demuxer = new StreamDemuxer();
  private framePieces: Buffer[] = [];
  private readonly pending = new Map<OutputStream, PendingLine>();
  private readonly tail: BoundedLineTail;

  constructor(private readonly options: { timestamps: boolean; maxBytes?: number }) {
    this.tail = new BoundedLineTail(options.maxBytes ?? Number.POSITIVE_INFINITY);
  }

  /** Feeds the next chunk of the engine's body; throws StreamDemuxError when it is not a multiplexed stream. */
  push(chunk: Buffer): void {
    for (const piece of this.demuxer.push(chunk)) {
      this.framePieces.push(piece.data);
      if (!piece.frameEnd) continue;
      const frame = this.framePieces.length === 1 ? this.framePieces[0] : Buffer.concat(this.framePieces);
      this.framePieces = [];
      if (piece.stream !== 'stdin') this.readFrame(piece.stream, frame);
    }
  }

  /** The lines once the body has ended; throws StreamDemuxError when it ended in the middle of a frame. */
  end(): LogsResult {
    if (!this.demuxer.atFrameBoundary) throw new StreamDemuxError('Multiplexed stream ends in the middle of a frame');
    for (const [stream, line] of this.pending) this.tail.add(toLine(stream, line.text, line.timestamp));
    this.pending.clear();
    return this.tail.result();
  }

  private readFrame(stream: OutputStream, data: Buffer): void {
    let text = data.toString('utf8');
    let timestamp: string | undefined;
    if (this.options.timestamps) {
      const space = text.indexOf(' ');
      timestamp = space >= 0 ? text.slice(0, space) : text.replace(/\n$/, '');
      text = space >= 0 ? text.slice(space + 1) : '';
    }
    const line = this.pending.get(stream) ?? { text: '', timestamp };
    // Only the new text is searched: a long line read in many frames is not scanned again for each.
    let rest = text;
    let newline: number;
    while ((newline = rest.indexOf('\n')) >= 0) {
      this.tail.add(toLine(stream, line.text + rest.slice(0, newline), line.timestamp));
      line.text = '';
      line.timestamp = timestamp;
      rest = rest.slice(newline + 1);
    }
    line.text += rest;
    // A line that never ends must not grow without bound either: only its end can be shown (characters are at
    // least one byte each, so maxBytes characters are already all that can be). Cut when twice that is held, so a
    // long line is not copied again for every frame.
    if (line.text.length > 2 * this.tail.maxBytes) {
      line.text = line.text.slice(-this.tail.maxBytes);
      this.tail.truncated = true;
    }
    if (line.text.length > 0) this.pending.set(stream, line);
    else this.pending.delete(stream);
  }
}

/** Parses a whole non-follow logs body at once, without a cap. */
export function parseContainerLogs(buffer: Buffer, options: { timestamps: boolean }): LogLine[] {
  const reader = new ContainerLogsReader(options);
  reader.push(buffer);
  return reader.end().lines;
}

/** The newest lines whose bytes add up to at most `maxBytes`; older ones are dropped as newer ones come. */
class BoundedLineTail {
  private lines: Array<{ line: LogLine; bytes: number }> = [];
  /** Where the held lines start in `lines`: dropping from the front is a step of this, not an array shift. */
  private first = 0;
  private bytes = 0;
  truncated = false;

  constructor(readonly maxBytes: number) {}

  add(line: LogLine): void {
    const bytes = Buffer.byteLength(line.text, 'utf8') + 1;
    if (bytes > this.maxBytes) {
      // Alone over the cap: nothing older can stay, and of this line only its end fits.
      this.lines = [{ line: { ...line, text: lastBytes(line.text, this.maxBytes - 1) }, bytes: this.maxBytes }];
      this.first = 0;
      this.bytes = this.maxBytes;
      this.truncated = true;
      return;
    }
    this.lines.push({ line, bytes });
    this.bytes += bytes;
    while (this.bytes > this.maxBytes) {
      this.bytes -= this.lines[this.first].bytes;
      this.first += 1;
      this.truncated = true;
    }
    // Compacts once the dropped front outweighs what is held, so the array stays proportional to the tail.
    if (this.first > 1024 && this.first > this.lines.length / 2) {
      this.lines = this.lines.slice(this.first);
      this.first = 0;
    }
  }

  result(): LogsResult {
    return { lines: this.lines.slice(this.first).map(({ line }) => line), truncated: this.truncated };
  }
}

/** The end of `text` that is at most `max` bytes of UTF-8, cut on a character boundary. */
function lastBytes(text: string, max: number): string {
  const encoded = Buffer.from(text, 'utf8');
  let start = Math.max(0, encoded.length - max);
  // Continuation bytes are 10xxxxxx: step forward to the start of a character.
  while (start < encoded.length && (encoded[start] & 0xc0) === 0x80) start += 1;
  return encoded.subarray(start).toString('utf8');
}

function toLine(stream: OutputStream, text: string, timestamp: string | undefined): LogLine {
  return timestamp === undefined ? { stream, text } : { stream, text, timestamp };
}
