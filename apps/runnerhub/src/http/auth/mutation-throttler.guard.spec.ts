import { Reflector } from '@nestjs/core';
import { ExecutionContextHost } from '@nestjs/core/helpers/execution-context-host';
import { ThrottlerStorageService } from '@nestjs/throttler';
import { MutationThrottlerGuard } from './mutation-throttler.guard';

/** The protected decisions of the guard, reachable from a test. */
class Probe extends MutationThrottlerGuard {
  skips(method: string, type = 'http') {
    const context = new ExecutionContextHost([{ method }, {}, () => undefined]);
    context.setType(type);
    return this.shouldSkip(context);
  }
  trackerOf(request: Record<string, unknown>) {
    return this.getTracker(request);
  }
  keyOf(handler: () => void, tracker: string) {
    return this.generateKey(new ExecutionContextHost([], Probe, handler), tracker, 'default');
  }
}

describe(MutationThrottlerGuard.name, () => {
  const storage = new ThrottlerStorageService();
  const guard = new Probe({ throttlers: [{ ttl: 60_000, limit: 1 }] }, storage, new Reflector());

  beforeAll(() => guard.onModuleInit());
  afterAll(() => storage.onApplicationShutdown());

  it.each(['POST', 'PUT', 'PATCH', 'DELETE'])('counts %s', async (method) => {
    expect(await guard.skips(method)).toBe(false);
  });

  it.each(['GET', 'HEAD', 'OPTIONS'])('never counts %s', async (method) => {
    expect(await guard.skips(method)).toBe(true);
  });

  it('counts per API key name, and per IP address only where no key applies', async () => {
    const actor = { name: 'operator-1a2b3c4d', role: 'operator' };
    expect(await guard.trackerOf({ actor, ip: '10.0.0.1' })).toBe('key:operator-1a2b3c4d');
    expect(await guard.trackerOf({ ip: '10.0.0.1' })).toBe('ip:10.0.0.1');
  });

  it('gives a caller one budget across all routes', () => {
    expect(guard.keyOf(function stop() {}, 'key:a')).toBe(guard.keyOf(function remove() {}, 'key:a'));
    expect(guard.keyOf(function stop() {}, 'key:a')).not.toBe(guard.keyOf(function stop() {}, 'key:b'));
  });
});
