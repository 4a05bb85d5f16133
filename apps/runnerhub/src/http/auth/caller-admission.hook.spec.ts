import { EventEmitter } from 'node:events';
import { loadAppConfig } from '@app/common';
import { HttpAdapterHost } from '@nestjs/core';
import { SlidingWindowThrottlerStorage } from './sliding-window.throttler-storage';
import type { NextFunction, Request, Response } from 'express';
import { HttpErrorCode } from '../api-error-code';
import { AnonymousRefusal, AnonymousRefusals } from './anonymous-refusals.service';
import { knownApiKey } from './api-key.crypto';
import { ApiKeyRegistry } from './api-key.registry';
import { CallerAdmission, MAX_TARPITTED, TARPIT_MS } from './caller-admission.hook';
import { StoredApiKeys } from './stored-api-keys.service';

const VIEWER_KEY = 'admission-viewer-key-0123456789';
const LIMIT = 3;

type Middleware = (request: Request, response: Response, next: NextFunction) => void;

class FakeResponse extends EventEmitter {
  statusCode = 200;
  headersSent = false;
  destroyed = false;
  readonly headers: Record<string, string> = {};
  body?: unknown;
  answeredAt?: number;
  writeHead(status: number, headers: Record<string, string | number>) {
    this.statusCode = status;
    this.headersSent = true;
    for (const [name, value] of Object.entries(headers)) this.headers[name.toLowerCase()] = String(value);
  }
  end(body: Buffer) {
    this.body = JSON.parse(body.toString()) as unknown;
    this.answeredAt = Date.now();
    this.emit('ended');
    this.emit('close');
  }
  /** What a handler, guard or the router does last: answer, and so close. */
  answer(status: number) {
    this.statusCode = status;
    this.headersSent = true;
    this.emit('close');
  }
  /** The client hangs up before any answer. */
  hangUp() {
    this.destroyed = true;
    this.emit('close');
  }
}

describe(CallerAdmission.name, () => {
  let middleware: Middleware;
  let storage: SlidingWindowThrottlerStorage;
  let note: jest.Mock;
  let sut: CallerAdmission;

  beforeEach(async () => {
    jest.useFakeTimers({ doNotFake: ['nextTick', 'setImmediate', 'queueMicrotask'] });
    const config = loadAppConfig({
      RUNNERHUB_API_KEYS: `${VIEWER_KEY}:viewer`,
      RATE_LIMIT_ANONYMOUS_PER_MINUTE: String(LIMIT),
    });
    const registry = new ApiKeyRegistry(config, {} as StoredApiKeys);
    await registry.onModuleInit();
    const adapterHost = { httpAdapter: { use: (fn: Middleware) => (middleware = fn) } } as unknown as HttpAdapterHost;
    storage = new SlidingWindowThrottlerStorage();
    note = jest.fn();
    sut = new CallerAdmission(adapterHost, config, registry, storage, { note } as unknown as AnonymousRefusals);
  });

  afterEach(() => {
    storage.clear();
    jest.useRealTimers();
  });

  /**
   * Passes a request through the middleware; resolves once it went on (`passed`: true) or was answered there
   * (`passed`: false, the answer in `response`).
   */
  async function send(path: string, { method = 'POST', authorization = '', ip = '10.0.0.1' } = {}) {
    const request = { path, method, ip, headers: authorization ? { authorization } : {}, socket: {} } as Request;
    const response = new FakeResponse();
    const sentAt = Date.now();
    let passed: boolean | undefined;
    response.once('ended', () => (passed ??= false));
    middleware(request, response as unknown as Response, (error?: unknown) => (passed ??= error === undefined));
    await jest.advanceTimersByTimeAsync(0);
    // A refused call is answered after the tarpit: let that time pass.
    if (passed === undefined) await jest.advanceTimersByTimeAsync(TARPIT_MS);
    return { request, response, passed, waitedMs: (response.answeredAt ?? sentAt) - sentAt };
  }

  it('lets a call with a valid key through, uncounted, however many come from one address', async () => {
    for (let i = 0; i < LIMIT * 3; i++) {
      const { request, response, passed } = await send('/api/containers', { authorization: `Bearer ${VIEWER_KEY}` });
      expect(passed).toBe(true);
      expect(sut.callerOf(request)).toEqual({
        actor: { name: knownApiKey(VIEWER_KEY, 'viewer').name, role: 'viewer' },
        key: 'valid',
      });
      response.answer(403);
    }
    expect(note).not.toHaveBeenCalled();
  });

  it('counts calls without a valid key per address, and refuses past the limit with 429 and Retry-After', async () => {
    const headers = ['', 'Token nope', 'Bearer unknown-key-0123456789'];
    for (const authorization of headers) expect((await send('/api/anything', { authorization })).passed).toBe(true);
    const refused = await send('/api/containers');
    expect(refused.passed).toBe(false);
    expect(refused.response.statusCode).toBe(429);
    // Answered after the tarpit, so that a flooding connection sends one call a second.
    expect(refused.waitedMs).toBe(TARPIT_MS);
    expect(refused.response.body).toEqual({
      success: false,
      error: { code: HttpErrorCode.RateLimited, message: expect.any(String), details: {} },
    });
    const { message } = (refused.response.body as { error: { message: string } }).error;
    expect(message).toMatch(/RATE_LIMIT_ANONYMOUS_PER_MINUTE is 3\).*Authorization: Bearer <key>/);
    expect(Number(refused.response.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    expect(refused.response.headers['content-type']).toMatch(/^application\/json/);
    // Another address has its own budget; a valid key from the limited one still passes.
    expect((await send('/api/containers', { ip: '10.0.0.2' })).passed).toBe(true);
    expect((await send('/api/containers', { authorization: `Bearer ${VIEWER_KEY}` })).passed).toBe(true);
  });

  it('reports each refused call without a valid key with its reason, and nothing of calls that succeed', async () => {
    const missing = await send('/api/containers', { method: 'GET' });
    missing.response.answer(401);
    const unknown = await send('/api/containers', { authorization: 'Bearer unknown-key-0123456789' });
    unknown.response.answer(401);
    const nowhere = await send('/api/nowhere');
    nowhere.response.answer(404);
    const limited = await send('/api/containers');
    limited.response.answer(429);
    const delivered = await send('/api/webhooks/github');
    delivered.response.answer(202);
    expect(note.mock.calls.map(([refusal]: [AnonymousRefusal]) => refusal)).toEqual([
      { address: '10.0.0.1', method: 'GET', status: 401, reason: 'missing-key' },
      { address: '10.0.0.1', method: 'POST', status: 401, reason: 'invalid-key' },
      { address: '10.0.0.1', method: 'POST', status: 404, reason: 'unknown-route' },
      { address: '10.0.0.1', method: 'POST', status: 429, reason: 'rate-limited' },
    ]);
  });

  it('leaves signed webhooks unlimited, and reading the docs and paths outside /api alone', async () => {
    for (let i = 0; i < LIMIT * 2; i++) expect((await send('/api/webhooks/github')).passed).toBe(true);
    for (const path of ['/api/docs', '/api/docs-json', '/api/docs/swagger-ui.css', '/health', '/metrics']) {
      for (let i = 0; i < LIMIT * 2; i++) {
        const { request, passed } = await send(path, { method: 'GET' });
        expect(passed).toBe(true);
        expect(sut.callerOf(request)).toBeUndefined();
      }
    }
    // Writing to them is not reading the docs: counted like any call without a key.
    for (let i = 0; i < LIMIT; i++) expect((await send('/api/docs')).passed).toBe(true);
    expect((await send('/api/docs-json', { method: 'DELETE' })).passed).toBe(false);
  });

  it('counts a limited call whose client left before the answer, and holds at most MAX_TARPITTED at once', async () => {
    for (let i = 0; i < LIMIT; i++) await send('/api/containers');
    const held = Array.from({ length: MAX_TARPITTED + 1 }, () => new FakeResponse());
    const request = { path: '/api/containers', method: 'POST', ip: '10.0.0.1', headers: {}, socket: {} } as Request;
    for (const response of held) middleware(request, response as unknown as Response, () => undefined);
    await jest.advanceTimersByTimeAsync(0);
    // The one past the cap is answered at once; the others wait.
    expect(held.filter((response) => response.headersSent)).toHaveLength(1);
    held[0].hangUp();
    await jest.advanceTimersByTimeAsync(TARPIT_MS);
    expect(held.filter((response) => response.headersSent)).toHaveLength(MAX_TARPITTED);
    const limited = note.mock.calls.filter(([refusal]: [AnonymousRefusal]) => refusal.status === 429);
    expect(limited).toHaveLength(MAX_TARPITTED + 1);
  });

  it('counts an IPv6 client by its /64, as addresses within one are one client', async () => {
    for (let i = 1; i <= LIMIT; i++) await send('/api/containers', { ip: `2001:db8:1:2::${i}` });
    expect((await send('/api/containers', { ip: '2001:db8:1:2:ffff::1' })).passed).toBe(false);
  });
});
