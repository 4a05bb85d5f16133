import { Logger } from '@nestjs/common';
import { AdvisoryLockLeadership, LeadershipConnection } from './advisory-lock.leadership';
import { Duty, DUTIES, DUTY_LOCK_KEYS } from './duties';

const RETRY_MS = 500;

/** PostgreSQL's advisory locks as far as leadership sees them: a key is held by one session until that session ends. */
class FakeLockServer {
  readonly holders = new Map<number, FakeSession>();
  refuseConnections = false;

  session(): FakeSession {
    return new FakeSession(this);
  }

  holderOf(duty: Duty): FakeSession | undefined {
    return this.holders.get(DUTY_LOCK_KEYS[duty]);
  }

  release(session: FakeSession): void {
    for (const [key, holder] of this.holders) if (holder === session) this.holders.delete(key);
  }
}

class FakeSession implements LeadershipConnection {
  private readonly errorListeners: Array<(error: Error) => void> = [];
  ended = false;
  /** Answers too late: pg rejects the query with its query_timeout error, the session and its locks live on. */
  slow = false;

  constructor(private readonly server: FakeLockServer) {}

  connect(): Promise<void> {
    return this.server.refuseConnections ? Promise.reject(new Error('ECONNREFUSED')) : Promise.resolve();
  }

  query(_text: string, values?: unknown[]): Promise<{ rows: unknown[] }> {
    if (this.ended) return Promise.reject(new Error('Client was closed'));
    if (this.slow) return Promise.reject(new Error('Query read timeout'));
    const keys = values![1] as number[];
    const rows = keys.map((key) => {
      const holder = this.server.holders.get(key);
      if (!holder) this.server.holders.set(key, this);
      return { key, locked: !holder || holder === this };
    });
    return Promise.resolve({ rows });
  }

  end(): Promise<void> {
    this.ended = true;
    this.server.release(this);
    return Promise.resolve();
  }

  on(event: 'error', listener: (error: Error) => void): this;
  on(event: 'end', listener: () => void): this;
  on(event: 'error' | 'end', listener: (error: Error) => void): this {
    // pg reports an unexpected end as an error; 'end' follows a deliberate end(), which the leadership started itself.
    if (event === 'error') this.errorListeners.push(listener);
    return this;
  }

  /** The server (or the network) ends the session: its locks go, and the client hears of it. */
  die(): void {
    this.ended = true;
    this.server.release(this);
    for (const listener of this.errorListeners) listener(new Error('Connection terminated unexpectedly'));
  }
}

describe(AdvisoryLockLeadership.name, () => {
  let server: FakeLockServer;
  const replicas: AdvisoryLockLeadership[] = [];

  function replica(): { sut: AdvisoryLockLeadership; sessions: FakeSession[] } {
    const sessions: FakeSession[] = [];
    const sut = new AdvisoryLockLeadership(RETRY_MS, () => {
      const session = server.session();
      sessions.push(session);
      return session;
    });
    replicas.push(sut);
    return { sut, sessions };
  }

  /** Lets timers due within ms fire, and the promises they start settle. */
  async function elapse(ms: number): Promise<void> {
    await jest.advanceTimersByTimeAsync(ms);
  }

  beforeEach(() => {
    jest.useFakeTimers();
    jest.spyOn(Logger.prototype, 'log').mockImplementation(() => undefined);
    jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
    server = new FakeLockServer();
  });

  afterEach(async () => {
    for (const sut of replicas.splice(0)) await sut.onApplicationShutdown();
    jest.useRealTimers();
    jest.restoreAllMocks();
  });

  it('leads every duty nobody else leads from its first round, before the schedulers start', async () => {
    const { sut } = replica();
    await sut.onModuleInit();
    for (const duty of DUTIES) expect(sut.isLeader(duty)).toBe(true);
  });

  it('leaves a duty to the replica that holds it, and takes it within one retry interval of its release', async () => {
    const first = replica();
    const second = replica();
    await first.sut.onModuleInit();
    await second.sut.onModuleInit();
    expect(second.sut.led()).toEqual([]);

    await first.sut.onApplicationShutdown();
    expect(first.sut.led()).toEqual([]);
    expect(second.sut.led()).toEqual([]);
    await elapse(RETRY_MS);
    expect(second.sut.led()).toEqual(DUTIES);
    for (const duty of DUTIES) expect(server.holderOf(duty)).toBe(second.sessions[0]);
  });

  it('drops every duty at once when its connection dies, and takes them again after reconnecting', async () => {
    const { sut, sessions } = replica();
    await sut.onModuleInit();

    sessions[0].die();
    expect(sut.led()).toEqual([]);

    await elapse(RETRY_MS);
    expect(sessions).toHaveLength(2);
    expect(sut.led()).toEqual(DUTIES);
  });

  it('lets a follower take the duties of a leader whose session died, never both leading one', async () => {
    const leader = replica();
    const follower = replica();
    await leader.sut.onModuleInit();
    await follower.sut.onModuleInit();

    leader.sessions[0].die();
    // Whichever round comes first takes each duty; a duty is never led by both.
    await elapse(RETRY_MS);
    for (const duty of DUTIES) {
      expect(Number(leader.sut.isLeader(duty)) + Number(follower.sut.isLeader(duty))).toBe(1);
    }
  });

  it('reconnects with a growing back-off while PostgreSQL refuses, and leads again once it answers', async () => {
    const { sut, sessions } = replica();
    server.refuseConnections = true;
    await sut.onModuleInit();
    expect(sessions).toHaveLength(1);

    await elapse(RETRY_MS); // second try after the retry interval
    expect(sessions).toHaveLength(2);
    await elapse(RETRY_MS); // then twice that
    expect(sessions).toHaveLength(2);
    await elapse(RETRY_MS);
    expect(sessions).toHaveLength(3);

    server.refuseConnections = false;
    await elapse(4 * RETRY_MS);
    expect(sut.led()).toEqual(DUTIES);
  });

  it('pauses on answers too slow, keeping its session and locks, and gives the session up after three such rounds', async () => {
    const leader = replica();
    const follower = replica();
    await leader.sut.onModuleInit();
    await follower.sut.onModuleInit();

    leader.sessions[0].slow = true;
    await elapse(RETRY_MS);
    // It no longer runs duties, yet nobody else can take them: the session holding the locks lives.
    expect(leader.sut.led()).toEqual([]);
    expect(follower.sut.led()).toEqual([]);

    leader.sessions[0].slow = false;
    await elapse(RETRY_MS);
    expect(leader.sut.led()).toEqual(DUTIES);
    expect(leader.sessions).toHaveLength(1);

    leader.sessions[0].slow = true;
    await elapse(3 * RETRY_MS);
    expect(leader.sessions[0].ended).toBe(false);
    await elapse(RETRY_MS);
    // The fourth slow round in a row: the session is ended, its locks freed, and the follower takes the duties.
    expect(leader.sessions[0].ended).toBe(true);
    await elapse(RETRY_MS);
    expect(follower.sut.led()).toEqual(DUTIES);
    expect(leader.sut.led()).toEqual([]);
  });

  it('runs a duty only where it leads, and counts those runs', async () => {
    const leader = replica();
    const follower = replica();
    await leader.sut.onModuleInit();
    await follower.sut.onModuleInit();
    const work = jest.fn(() => Promise.resolve('swept'));

    await expect(leader.sut.runIfLeader('stale-sweep', work)).resolves.toEqual({ ran: true, result: 'swept' });
    await expect(follower.sut.runIfLeader('stale-sweep', work)).resolves.toEqual({ ran: false });

    expect(work).toHaveBeenCalledTimes(1);
    expect(leader.sut.runs('stale-sweep')).toBe(1);
    expect(follower.sut.runs('stale-sweep')).toBe(0);
  });

  it('ends its session on shutdown, which frees every duty for the others', async () => {
    const { sut, sessions } = replica();
    await sut.onModuleInit();
    await sut.onApplicationShutdown();
    expect(sessions[0].ended).toBe(true);
    expect(server.holders.size).toBe(0);
    await elapse(10 * RETRY_MS);
    expect(sessions).toHaveLength(1);
  });
});
