import recorded from './__fixtures__/logs-timestamps.json';
import { ContainerLogsReader, parseContainerLogs } from './container-logs.parser';
import { StreamDemuxError } from './stream-demux';

function frame(type: number, payload: string): Buffer {
  const data = Buffer.from(payload, 'utf8');
  const header = Buffer.alloc(8);
  header[0] = type;
  header.writeUInt32BE(data.length, 4);
  return Buffer.concat([header, data]);
}

describe('parseContainerLogs', () => {
  it('parses a recorded body: timestamps split off, stderr apart, a 16 KiB-split line joined again', () => {
    const lines = parseContainerLogs(Buffer.from(recorded.hex, 'hex'), { timestamps: true });
    expect(lines.map((l) => ({ stream: l.stream, start: l.text.slice(0, 14), length: l.text.length }))).toEqual([
      { stream: 'stdout', start: 'out1', length: 4 },
      { stream: 'stderr', start: 'err1', length: 4 },
      { stream: 'stdout', start: 'long-1long-2lo', length: 'long-'.length * 3000 + 10_893 /* digits of 1..3000 */ },
      { stream: 'stdout', start: 'out2', length: 4 },
    ]);
    expect(lines[2].text.endsWith('long-3000')).toBe(true);
    for (const line of lines) expect(line.timestamp).toMatch(/^2026-11-29T02:15:12\.\d{9}Z$/);
  });

  it('parses lines without timestamps and keeps a last line that has no newline', () => {
    const body = Buffer.concat([frame(1, 'a\n'), frame(2, 'oops\n'), frame(1, 'b\nc')]);
    expect(parseContainerLogs(body, { timestamps: false })).toEqual([
      { stream: 'stdout', text: 'a' },
      { stream: 'stderr', text: 'oops' },
      { stream: 'stdout', text: 'b' },
      { stream: 'stdout', text: 'c' },
    ]);
  });

  it('keeps empty lines and the text after the first space only', () => {
    const body = Buffer.concat([
      frame(1, '2026-01-01T00:00:00.000000001Z \n'),
      frame(1, '2026-01-01T00:00:00.000000002Z a b\n'),
    ]);
    expect(parseContainerLogs(body, { timestamps: true })).toEqual([
      { stream: 'stdout', text: '', timestamp: '2026-01-01T00:00:00.000000001Z' },
      { stream: 'stdout', text: 'a b', timestamp: '2026-01-01T00:00:00.000000002Z' },
    ]);
  });

  it('reads an empty body as no lines', () => {
    expect(parseContainerLogs(Buffer.alloc(0), { timestamps: false })).toEqual([]);
  });
});

describe(ContainerLogsReader.name, () => {
  const lines = (count: number, width: number) =>
    Array.from({ length: count }, (_, i) => `line ${String(i).padStart(5, '0')} ${'x'.repeat(width)}`);

  /** Feeds `body` in chunks of `size` bytes, as a socket would. */
  function read(body: Buffer, options: { timestamps: boolean; maxBytes?: number }, size = 7) {
    const reader = new ContainerLogsReader(options);
    for (let i = 0; i < body.length; i += size) reader.push(body.subarray(i, i + size));
    return reader.end();
  }

  it('reads a body in any chunking the same as whole, and says nothing was left out', () => {
    const body = Buffer.from(recorded.hex, 'hex');
    const whole = parseContainerLogs(body, { timestamps: true });
    expect(read(body, { timestamps: true }, 5)).toEqual({ lines: whole, truncated: false });
    expect(read(body, { timestamps: true }, 4096)).toEqual({ lines: whole, truncated: false });
  });

  it('keeps the newest lines within maxBytes (text and newline), oldest first, and says it truncated', () => {
    const texts = lines(1_000, 100);
    const body = Buffer.concat(texts.map((text) => frame(1, `${text}\n`)));
    const lineBytes = texts[0].length + 1;
    const result = read(body, { timestamps: false, maxBytes: 10 * lineBytes + 5 });
    expect(result.truncated).toBe(true);
    expect(result.lines.map((line) => line.text)).toEqual(texts.slice(-10));
    const exact = read(body, { timestamps: false, maxBytes: 1_000 * lineBytes });
    expect(exact).toEqual({ lines: texts.map((text) => ({ stream: 'stdout', text })), truncated: false });
  });

  it('keeps only the end of a line longer than the cap, cut on a character boundary', () => {
    const long = `start ${'é'.repeat(5_000)} end`;
    const body = Buffer.concat([frame(1, 'before\n'), frame(2, `${long}\n`)]);
    const result = read(body, { timestamps: false, maxBytes: 1_024 });
    expect(result.truncated).toBe(true);
    expect(result.lines).toHaveLength(1);
    expect(result.lines[0].stream).toBe('stderr');
    expect(result.lines[0].text.endsWith('é end')).toBe(true);
    expect(Buffer.byteLength(result.lines[0].text) + 1).toBeLessThanOrEqual(1_024);
    expect(result.lines[0].text).not.toContain('\ufffd');
  });

  it('holds a bounded tail while a line without newline grows, however long', () => {
    const reader = new ContainerLogsReader({ timestamps: false, maxBytes: 2_048 });
    const piece = frame(1, 'y'.repeat(16 * 1024));
    for (let i = 0; i < 1_000; i++) reader.push(piece);
    const pending = (Reflect.get(reader, 'pending') as Map<string, { text: string }>).get('stdout');
    expect(pending!.text.length).toBeLessThanOrEqual(2 * 2_048);
    const result = reader.end();
    expect(result).toEqual({ lines: [{ stream: 'stdout', text: 'y'.repeat(2_047) }], truncated: true });
  });

  it('refuses a body that ends in the middle of a frame, or is not multiplexed', () => {
    const reader = new ContainerLogsReader({ timestamps: false });
    reader.push(frame(1, 'abc\n').subarray(0, 10));
    expect(() => reader.end()).toThrow(StreamDemuxError);
    expect(() => new ContainerLogsReader({ timestamps: false }).push(Buffer.from('plain text from a TTY\n'))).toThrow(
      StreamDemuxError,
    );
  });
});
