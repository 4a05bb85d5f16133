import type { LogLine, OutputStream } from './engine.types';
import { demultiplex } from './stream-demux';

interface PendingLine {
  text: string;
  timestamp?: string;
}

/**
 * Turns a non-follow logs buffer (multiplexed, as the engine returns it for a container without TTY) into lines.
 * The engine splits lines longer than 16 KiB into several frames, each with its own timestamp when timestamps are
 * on; the pieces are joined back per stream and the line keeps the first piece's timestamp. A last line without a
 * trailing newline is kept.
 */
export function parseContainerLogs(buffer: Buffer, options: { timestamps: boolean }): LogLine[] {
  const lines: LogLine[] = [];
  const pending = new Map<OutputStream, PendingLine>();
  for (const frame of demultiplex(buffer)) {
    if (frame.stream === 'stdin') continue;
    let text = frame.data.toString('utf8');
    let timestamp: string | undefined;
    if (options.timestamps) {
      const space = text.indexOf(' ');
      timestamp = space >= 0 ? text.slice(0, space) : text.replace(/\n$/, '');
      text = space >= 0 ? text.slice(space + 1) : '';
    }
    const line = pending.get(frame.stream) ?? { text: '', timestamp };
    line.text += text;
    let newline: number;
    while ((newline = line.text.indexOf('\n')) >= 0) {
      lines.push(toLine(frame.stream, line.text.slice(0, newline), line.timestamp));
      line.text = line.text.slice(newline + 1);
      line.timestamp = timestamp;
    }
    if (line.text.length > 0) pending.set(frame.stream, line);
    else pending.delete(frame.stream);
  }
  for (const [stream, line] of pending) lines.push(toLine(stream, line.text, line.timestamp));
  return lines;
}

function toLine(stream: OutputStream, text: string, timestamp: string | undefined): LogLine {
  return timestamp === undefined ? { stream, text } : { stream, text, timestamp };
}
