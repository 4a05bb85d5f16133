/**
 * The engine's multiplexed stream format (non-TTY logs, attach and exec): each frame is an 8-byte header
 * [stream, 0, 0, 0, size as uint32 big-endian] followed by size bytes of payload. stream is 0 stdin, 1 stdout,
 * 2 stderr.
 */

export type MultiplexedStreamName = 'stdin' | 'stdout' | 'stderr';

export interface DemuxedChunk {
  stream: MultiplexedStreamName;
  data: Buffer;
  /** True when this chunk completes its frame; a frame split across input chunks arrives in several pieces. */
  frameEnd: boolean;
}

export interface DemuxedFrame {
  stream: MultiplexedStreamName;
  data: Buffer;
}

const HEADER_BYTES = 8;
const STREAM_NAMES: readonly MultiplexedStreamName[] = ['stdin', 'stdout', 'stderr'];

/**
 * The engine writes at most 32 KiB per frame (its copy buffer) and log lines are split at 16 KiB, so a header that
 * announces more than this is not a header: the input is not multiplexed (a TTY stream) or lost alignment.
 */
export const DEFAULT_MAX_FRAME_BYTES = 16 * 1024 * 1024;

export class StreamDemuxError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'StreamDemuxError';
  }
}

/**
 * Incremental demultiplexer. Payload is handed on as soon as it arrives rather than once its frame is complete, so
 * a large frame is never buffered whole and a consumer with an output cap can drop bytes as they come.
 */
export class StreamDemuxer {
  private readonly header = Buffer.alloc(HEADER_BYTES);
  private headerFill = 0;
  private stream: MultiplexedStreamName | undefined;
  private remaining = 0;

  constructor(private readonly maxFrameBytes = DEFAULT_MAX_FRAME_BYTES) {}

  /** Feeds the next chunk of the raw stream; returns the payload pieces it completes or continues, in order. */
  push(chunk: Buffer): DemuxedChunk[] {
    const out: DemuxedChunk[] = [];
    let offset = 0;
    while (offset < chunk.length) {
      if (this.stream === undefined) {
        const take = Math.min(HEADER_BYTES - this.headerFill, chunk.length - offset);
        chunk.copy(this.header, this.headerFill, offset, offset + take);
        this.headerFill += take;
        offset += take;
        if (this.headerFill === HEADER_BYTES) this.startFrame();
        continue;
      }
      const take = Math.min(this.remaining, chunk.length - offset);
      this.remaining -= take;
      out.push({ stream: this.stream, data: chunk.subarray(offset, offset + take), frameEnd: this.remaining === 0 });
      offset += take;
      if (this.remaining === 0) this.stream = undefined;
    }
    return out;
  }

  /** True between frames: the input so far ended on a frame boundary. */
  get atFrameBoundary(): boolean {
    return this.stream === undefined && this.headerFill === 0;
  }

  private startFrame(): void {
    this.headerFill = 0;
    const type = this.header[0];
    const size = this.header.readUInt32BE(4);
    if (type > 2 || this.header[1] !== 0 || this.header[2] !== 0 || this.header[3] !== 0) {
      throw new StreamDemuxError(
        `Not a multiplexed engine stream: bad frame header ${this.header.toString('hex')} (was the container started with a TTY?)`,
      );
    }
    if (size > this.maxFrameBytes) {
      throw new StreamDemuxError(
        `Frame of ${size} bytes exceeds the ${this.maxFrameBytes}-byte limit: the stream is corrupt or not multiplexed`,
      );
    }
    // An empty frame carries nothing; staying between frames keeps alignment for the next header.
    if (size > 0) {
      this.stream = STREAM_NAMES[type];
      this.remaining = size;
    }
  }
}

/** Splits a complete multiplexed buffer (non-follow logs) into whole frames; a truncated last frame is an error. */
export function demultiplex(buffer: Buffer, maxFrameBytes = DEFAULT_MAX_FRAME_BYTES): DemuxedFrame[] {
  const demuxer = new StreamDemuxer(maxFrameBytes);
  const frames: DemuxedFrame[] = [];
  let pieces: Buffer[] = [];
  for (const chunk of demuxer.push(buffer)) {
    pieces.push(chunk.data);
    if (chunk.frameEnd) {
      frames.push({ stream: chunk.stream, data: pieces.length === 1 ? pieces[0] : Buffer.concat(pieces) });
      pieces = [];
    }
  }
  if (!demuxer.atFrameBoundary) throw new StreamDemuxError('Multiplexed stream ends in the middle of a frame');
  return frames;
}
