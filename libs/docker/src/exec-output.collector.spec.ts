import { ExecOutputCollector } from './exec-output.collector';

describe('ExecOutputCollector', () => {
  it('keeps stdout and stderr apart and both together in arrival order', () => {
    const collector = new ExecOutputCollector(1024);
    collector.add('stdout', Buffer.from('a\n'));
    collector.add('stderr', Buffer.from('b\n'));
    collector.add('stdout', Buffer.from('c\n'));
    expect(collector.result()).toEqual({ stdout: 'a\nc\n', stderr: 'b\n', output: 'a\nb\nc\n', truncated: false });
  });

  it('shares one cap between both streams and drops what lies beyond it', () => {
    const collector = new ExecOutputCollector(5);
    collector.add('stdout', Buffer.from('abc'));
    collector.add('stderr', Buffer.from('defg'));
    collector.add('stdout', Buffer.from('hij'));
    expect(collector.result()).toEqual({ stdout: 'abc', stderr: 'de', output: 'abcde', truncated: true });
    expect(collector.droppedBytes).toBe(5);
  });

  it('is not truncated when the output is exactly the cap', () => {
    const collector = new ExecOutputCollector(3);
    collector.add('stdout', Buffer.from('abc'));
    expect(collector.result().truncated).toBe(false);
  });

  it('never cuts a UTF-8 character in half at the cap', () => {
    const collector = new ExecOutputCollector(4);
    collector.add('stdout', Buffer.from('aé✓')); // 1 + 2 + 3 bytes: the cap falls inside ✓
    expect(collector.result()).toMatchObject({ stdout: 'aé', truncated: true });
  });

  it('ignores stdin frames and empty pieces', () => {
    const collector = new ExecOutputCollector(10);
    collector.add('stdin', Buffer.from('x'));
    collector.add('stdout', Buffer.alloc(0));
    expect(collector.result()).toEqual({ stdout: '', stderr: '', output: '', truncated: false });
  });
});
