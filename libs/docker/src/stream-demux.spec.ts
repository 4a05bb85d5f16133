import { DemuxedChunk, demultiplex, StreamDemuxer, StreamDemuxError } from './stream-demux';

function frame(type: number, payload: string | Buffer): Buffer {
  const data = typeof payload === 'string' ? Buffer.from(payload, 'utf8') : payload;
  const header = Buffer.alloc(8);
  header[0] = type;
  header.writeUInt32BE(data.length, 4);
  return Buffer.concat([header, data]);
}

/** Re-joins pieces into whole frames, checking that pieces of one frame are contiguous and of one stream. */
function joinFrames(chunks: DemuxedChunk[]): Array<{ stream: string; text: string }> {
  const frames: Array<{ stream: string; text: string }> = [];
  let open: { stream: string; parts: Buffer[] } | undefined;
  for (const chunk of chunks) {
    if (open && open.stream !== chunk.stream) throw new Error('a frame switched streams half way');
    open ??= { stream: chunk.stream, parts: [] };
    open.parts.push(chunk.data);
    if (chunk.frameEnd) {
      frames.push({ stream: open.stream, text: Buffer.concat(open.parts).toString('utf8') });
      open = undefined;
    }
  }
  if (open) throw new Error('unterminated frame');
  return frames;
}

// Recorded from this engine: `sh -c 'echo out; echo err >&2; exit 3'` run through exec.
const RECORDED_EXEC = Buffer.from('01000000000000046f75740a02000000000000046572720a', 'hex');

describe('demultiplex (a whole buffer)', () => {
  it('splits a recorded engine buffer into its stdout and stderr frames', () => {
    expect(demultiplex(RECORDED_EXEC).map((f) => ({ stream: f.stream, text: f.data.toString() }))).toEqual([
      { stream: 'stdout', text: 'out\n' },
      { stream: 'stderr', text: 'err\n' },
    ]);
  });

  it('returns nothing for an empty buffer', () => {
    expect(demultiplex(Buffer.alloc(0))).toEqual([]);
  });

  it('skips empty frames without losing alignment', () => {
    const buffer = Buffer.concat([frame(1, ''), frame(2, 'e'), frame(1, ''), frame(1, 'o')]);
    expect(demultiplex(buffer).map((f) => `${f.stream}:${f.data.toString()}`)).toEqual(['stderr:e', 'stdout:o']);
  });

  it('keeps stdin frames (type 0) apart', () => {
    expect(demultiplex(frame(0, 'in'))[0]).toMatchObject({ stream: 'stdin' });
  });

  it('refuses a buffer that ends half way through a frame', () => {
    const whole = frame(1, 'hello');
    expect(() => demultiplex(whole.subarray(0, whole.length - 1))).toThrow(StreamDemuxError);
    expect(() => demultiplex(whole.subarray(0, 5))).toThrow('middle of a frame');
  });

  it('refuses input that is not multiplexed (a TTY stream starts with text)', () => {
    expect(() => demultiplex(Buffer.from('plain text from a tty\n'))).toThrow(/bad frame header/);
  });

  it('refuses a header announcing a frame larger than the limit, instead of waiting for gigabytes', () => {
    const header = Buffer.from([1, 0, 0, 0, 0xff, 0xff, 0xff, 0xff]);
    expect(() => demultiplex(header)).toThrow(/exceeds the/);
    expect(() => demultiplex(frame(1, 'x'.repeat(33)), 32)).toThrow(StreamDemuxError);
    expect(demultiplex(frame(1, 'x'.repeat(32)), 32)).toHaveLength(1);
  });
});

describe('StreamDemuxer (chunks as they come off a socket)', () => {
  const frames = [
    frame(1, 'first line\n'),
    frame(2, 'oops\n'),
    frame(1, ''),
    frame(1, 'héllo wörld ✓\n'),
    frame(2, 'x'),
  ];
  const stream = Buffer.concat(frames);
  const expected = [
    { stream: 'stdout', text: 'first line\n' },
    { stream: 'stderr', text: 'oops\n' },
    { stream: 'stdout', text: 'héllo wörld ✓\n' },
    { stream: 'stderr', text: 'x' },
  ];

  it('gives the same frames whatever single byte boundary the input is split at', () => {
    for (let cut = 0; cut <= stream.length; cut++) {
      const demuxer = new StreamDemuxer();
      const chunks = [...demuxer.push(stream.subarray(0, cut)), ...demuxer.push(stream.subarray(cut))];
      expect({ cut, frames: joinFrames(chunks) }).toEqual({ cut, frames: expected });
      expect(demuxer.atFrameBoundary).toBe(true);
    }
  });

  it('gives the same frames when every byte arrives on its own', () => {
    const demuxer = new StreamDemuxer();
    const chunks: DemuxedChunk[] = [];
    for (let i = 0; i < stream.length; i++) chunks.push(...demuxer.push(stream.subarray(i, i + 1)));
    expect(joinFrames(chunks)).toEqual(expected);
  });

  it('gives the same frames for every pair of cuts (three chunks)', () => {
    for (let a = 0; a <= stream.length; a++) {
      for (let b = a; b <= stream.length; b++) {
        const demuxer = new StreamDemuxer();
        const chunks = [a, b, stream.length].flatMap((end, i, ends) =>
          demuxer.push(stream.subarray(i === 0 ? 0 : ends[i - 1], end)),
        );
        expect(joinFrames(chunks)).toEqual(expected);
      }
    }
  });

  it('hands on a large frame piece by piece as it arrives, never holding it whole', () => {
    const payload = Buffer.alloc(1024 * 1024, 'a');
    const big = frame(1, payload);
    const demuxer = new StreamDemuxer();
    const sizes: number[] = [];
    for (let offset = 0; offset < big.length; offset += 64 * 1024) {
      for (const piece of demuxer.push(big.subarray(offset, offset + 64 * 1024))) sizes.push(piece.data.length);
    }
    expect(sizes.length).toBeGreaterThan(10);
    expect(Math.max(...sizes)).toBeLessThanOrEqual(64 * 1024);
    expect(sizes.reduce((sum, n) => sum + n, 0)).toBe(payload.length);
  });

  it('reports being inside a frame until the frame is complete', () => {
    const demuxer = new StreamDemuxer();
    demuxer.push(RECORDED_EXEC.subarray(0, 3));
    expect(demuxer.atFrameBoundary).toBe(false);
    demuxer.push(RECORDED_EXEC.subarray(3, 12));
    expect(demuxer.atFrameBoundary).toBe(true);
  });
});
