import type { EngineEvent } from './engine.types';
import { EventResumeCursor } from './event-resume.cursor';

const event = (timeNano: string, action = 'start', id = 'c1'): EngineEvent => ({
  type: 'container',
  action,
  id,
  attributes: {},
  time: Number(timeNano.slice(0, -9)),
  timeNano,
});

describe('EventResumeCursor', () => {
  it('starts live: no since before anything was seen or connected', () => {
    expect(new EventResumeCursor(1_000).since()).toBeUndefined();
  });

  it('resumes the overlap before the newest event seen, to the nanosecond', () => {
    const cursor = new EventResumeCursor(1_000);
    cursor.accept(event('1795918079043947790'));
    cursor.accept(event('1795918078000000001', 'create'));
    expect(cursor.since()).toBe('1795918078.043947790');
  });

  it('resumes exactly at the newest event without overlap', () => {
    const cursor = new EventResumeCursor(0);
    cursor.accept(event('1795918079000000005'));
    expect(cursor.since()).toBe('1795918079.000000005');
  });

  it('drops replayed events it delivered, and lets new ones through, at and after the boundary', () => {
    const cursor = new EventResumeCursor(1_000);
    const delivered = [event('1795918079000000001', 'create'), event('1795918079000000002', 'start')];
    expect(delivered.map((e) => cursor.accept(e))).toEqual([true, true]);
    const replay = [
      event('1795918079000000001', 'create'),
      event('1795918079000000002', 'start'),
      event('1795918079000000002', 'start', 'c2'), // same instant, another container: new
      event('1795918080000000000', 'die'),
    ];
    expect(replay.map((e) => cursor.accept(e))).toEqual([false, false, true, true]);
  });

  it('after a connection without events, resumes from the engine time of that connection', () => {
    const cursor = new EventResumeCursor(1_000);
    cursor.markConnected(Date.UTC(2026, 10, 29, 2, 0, 0));
    expect(cursor.since()).toBe(`${Date.UTC(2026, 10, 29, 2, 0, 0) / 1000 - 1}.000000000`);
    cursor.accept(event('1795918079000000000'));
    cursor.markConnected(Date.UTC(2030, 0, 1));
    expect(cursor.since()).toBe('1795918078.000000000');
  });

  it('remembers a bounded number of delivered events', () => {
    const cursor = new EventResumeCursor(1_000, 2);
    ['1', '2', '3'].forEach((n) => cursor.accept(event(`179591807900000000${n}`)));
    expect(cursor.accept(event('1795918079000000003'))).toBe(false);
    expect(cursor.accept(event('1795918079000000001'))).toBe(true);
  });
});
