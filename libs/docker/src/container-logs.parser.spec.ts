import recorded from './__fixtures__/logs-timestamps.json';
import { parseContainerLogs } from './container-logs.parser';

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
