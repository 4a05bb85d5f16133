import { LineSplitter, parseEngineEventLine } from './engine-event.parser';

// Recorded from Docker 20.10 (GET /events, container start).
const START_LINE =
  '{"status":"start","id":"02d4ec9b561227ceb136a8a7fdfa74a7fae64c4b55ba14df1d6c2213112234b8","from":"runnerhub-test/busybox:1",' +
  '"Type":"container","Action":"start","Actor":{"ID":"02d4ec9b561227ceb136a8a7fdfa74a7fae64c4b55ba14df1d6c2213112234b8",' +
  '"Attributes":{"image":"runnerhub-test/busybox:1","name":"crazy_chaum","runnerhub.recipe":"b9e3d0c12ed7",' +
  '"runnerhub.test":"exp","runnerhub.test-image":"true"}},"scope":"local","time":1795918079,"timeNano":1795918079043947790}';

describe('parseEngineEventLine', () => {
  it('parses a recorded container event, keeping timeNano exact', () => {
    const parsed = parseEngineEventLine(START_LINE);
    expect(parsed).toEqual({
      ok: true,
      event: {
        type: 'container',
        action: 'start',
        id: '02d4ec9b561227ceb136a8a7fdfa74a7fae64c4b55ba14df1d6c2213112234b8',
        attributes: {
          image: 'runnerhub-test/busybox:1',
          name: 'crazy_chaum',
          'runnerhub.recipe': 'b9e3d0c12ed7',
          'runnerhub.test': 'exp',
          'runnerhub.test-image': 'true',
        },
        time: 1795918079,
        timeNano: '1795918079043947790',
      },
    });
    // What JSON.parse would have given: the last digits are gone.
    expect(String((JSON.parse(START_LINE) as { timeNano: number }).timeNano)).not.toBe('1795918079043947790');
  });

  it('is not fooled by an attribute that spells timeNano', () => {
    const line = START_LINE.replace('"name":"crazy_chaum"', '"name":"x\\"timeNano\\":1","timeNano":"2"');
    expect(parseEngineEventLine(line)).toMatchObject({ ok: true, event: { timeNano: '1795918079043947790' } });
  });

  it('keeps actions with a suffix whole (health_status, exec_start)', () => {
    const line = START_LINE.replace(/"Action":"start"/, '"Action":"health_status: unhealthy"');
    expect(parseEngineEventLine(line)).toMatchObject({ ok: true, event: { action: 'health_status: unhealthy' } });
  });

  it('reports, rather than throws on, lines that are not events', () => {
    expect(parseEngineEventLine('')).toMatchObject({ ok: false });
    expect(parseEngineEventLine('{"Type":"container"')).toMatchObject({
      ok: false,
      reason: expect.stringMatching(/^not JSON/),
    });
    expect(parseEngineEventLine('42')).toMatchObject({ ok: false });
    expect(parseEngineEventLine('{"Type":"container"}')).toMatchObject({
      ok: false,
      reason: expect.stringMatching(/without/),
    });
  });
});

describe('LineSplitter', () => {
  const body = Buffer.from(`${START_LINE}\n{"Action":"die","Actor":{"ID":"é✓"},"time":1,"timeNano":1000000000}\n`);

  it('returns whole lines wherever the chunks are cut, even inside a multi-byte character', () => {
    for (let cut = 0; cut <= body.length; cut++) {
      const splitter = new LineSplitter();
      const lines = [...splitter.push(body.subarray(0, cut)), ...splitter.push(body.subarray(cut))];
      expect(lines).toEqual([START_LINE, '{"Action":"die","Actor":{"ID":"é✓"},"time":1,"timeNano":1000000000}']);
      expect(splitter.pendingBytes).toBe(0);
    }
  });

  it('holds a partial line until its newline comes', () => {
    const splitter = new LineSplitter();
    expect(splitter.push(Buffer.from('{"a":'))).toEqual([]);
    expect(splitter.pendingBytes).toBe(5);
    expect(splitter.push(Buffer.from('1}\n{"b"'))).toEqual(['{"a":1}']);
  });

  it('returns empty lines as empty strings (the caller skips them)', () => {
    expect(new LineSplitter().push(Buffer.from('\n\n'))).toEqual(['', '']);
  });
});
