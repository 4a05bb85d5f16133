import { AppConfig } from '@app/common';
import { Injectable, Logger } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import { InjectThrottlerStorage, normalizeIp, ThrottlerStorage } from '@nestjs/throttler';
import type { NextFunction, Request, Response } from 'express';
import { HttpErrorCode } from '../api-error-code';
import { isMutatingMethod } from '../mutating-methods';
import { AnonymousRefusals, RefusalReason } from './anonymous-refusals.service';
import { ApiKeyRegistry } from './api-key.registry';
import { Actor } from './auth.decorators';
import { readBearerKey } from './bearer-key';

/** The global prefix of the REST API (bootstrap.ts's API_PREFIX, which cannot be imported here without a cycle). */
const API_PATH = /^\/api(\/|$)/;
/** Swagger UI and the OpenAPI document: open, static, never touch the database (when read; anything else is not). */
const DOCS_PATH = /^\/api\/docs(-json)?(\/|$)/;
/**
 * GitHub's webhooks carry a signature instead of a key, and come from a few GitHub addresses at whatever rate the
 * organisation's jobs make: limiting them per address would drop deliveries GitHub never sends again.
 */
const SIGNED_WEBHOOK_PATH = /^\/api\/webhooks\//;
const A_MINUTE_MS = 60_000;
/** The key of the per-address budget in the throttler storage the per-key limits use too. */
const THROTTLER_NAME = 'anonymous';
/**
 * How long a call over the per-address limit waits for its 429. A client that waits for each answer (most do, and
 * every HTTP/1.1 connection does) then sends one call a second per connection, so a flood from 50 connections costs
 * 50 answers a second instead of all the service can write.
 */
export const TARPIT_MS = 1_000;
/** Calls held at once; past this they are answered at once, so that holding them cannot exhaust the process. */
export const MAX_TARPITTED = 1_000;

/** Who a request under /api comes from, as admission found it before anything else ran. */
export interface Caller {
  /** The key's actor; undefined when no valid key came with the request. */
  actor?: Actor;
  /** What the Authorization header held. */
  key: 'valid' | 'missing' | 'malformed' | 'unknown';
}

const CALLER = Symbol('runnerhub:caller');
type AdmittedRequest = Request & { [CALLER]?: Caller };

/**
 * The first thing every request under /api meets, ahead of the body parsers, the router and the audit hook: it
 * reads the API key, and a request without a valid one (missing, malformed or unknown) is counted against its
 * client address, RATE_LIMIT_ANONYMOUS_PER_MINUTE a minute. Past that it is answered 429 RATE_LIMITED with
 * Retry-After before its body is read or any database is touched, so a stranger's flood costs a hash, a counter and
 * a constant answer, given after a second (TARPIT_MS) to slow the flood down. Calls with a valid key are never
 * counted here (many services may share one NAT address): they have budgets of their own per key
 * (ApiKeyThrottlerGuard). Every refused call without a valid key, whoever refused it (this limit, the API key guard,
 * the router), is reported to AnonymousRefusals, which counts it instead of auditing it.
 *
 * The address is the connection's (Express's `request.ip`, with no proxy trusted): behind a reverse proxy every
 * stranger shares the proxy's budget, which only strangers lose; callers with a key and signed webhooks are not
 * affected.
 *
 * Installed while the application is being built, as the audit hook is, and before it: the audit hook injects this
 * provider (to learn who called), so Nest builds this one first. A call refused here never reaches the audit hook.
 */
@Injectable()
export class CallerAdmission {
  private readonly logger = new Logger('Auth');
  private readonly limit: number;
  /** The 429's error envelope, the same for every refused call: made once, not once per call of a flood. */
  private readonly refusalBody: Buffer;
  /** Refused calls waiting for their answer (TARPIT_MS). */
  private tarpitted = 0;

  constructor(
    adapterHost: HttpAdapterHost,
    config: AppConfig,
    private readonly keys: ApiKeyRegistry,
    @InjectThrottlerStorage() private readonly storage: ThrottlerStorage,
    private readonly refusals: AnonymousRefusals,
  ) {
    this.limit = config.rateLimit.anonymousPerMinute;
    this.refusalBody = Buffer.from(
      JSON.stringify({
        success: false,
        error: {
          code: HttpErrorCode.RateLimited,
          message:
            `Too many calls without a valid API key from this address (RATE_LIMIT_ANONYMOUS_PER_MINUTE is ` +
            `${this.limit}): send an API key as \`Authorization: Bearer <key>\`, or wait for the Retry-After header`,
          details: {},
        },
      }),
    );
    const adapter = adapterHost.httpAdapter;
    if (adapter) {
      adapter.use((request: AdmittedRequest, response: Response, next: NextFunction) =>
        this.admit(request, response, next),
      );
    } else {
      this.logger.warn('No HTTP server while the application was built: calls without a key will not be limited');
    }
  }

  /** The caller of a request under /api, as found when it arrived; undefined for requests admission does not see. */
  callerOf(request: Request): Caller | undefined {
    return (request as AdmittedRequest)[CALLER];
  }

  private admit(request: AdmittedRequest, response: Response, next: NextFunction): void {
    if (!API_PATH.test(request.path)) return next();
    if (DOCS_PATH.test(request.path) && !isMutatingMethod(request.method)) return next();
    const caller = this.identify(request);
    request[CALLER] = caller;
    if (caller.actor) return next();
    // Only calls without a valid key are counted by address: the address is worked out for those alone.
    const address = addressOf(request);
    let limited = false;
    // 'close' comes however the call ended; a limited call is a refusal even if its client left before the answer.
    response.once('close', () => {
      const status = response.headersSent ? response.statusCode : limited ? 429 : 0;
      if (status >= 400) {
        const reason = reasonOf(status, caller);
        this.refusals.note({ address, method: request.method, status, reason });
      }
    });
    if (SIGNED_WEBHOOK_PATH.test(request.path)) return next();
    // Atomic: the in-memory storage counts synchronously, so concurrent requests cannot all squeeze under the limit.
    this.storage
      .increment(`${THROTTLER_NAME}:${address}`, A_MINUTE_MS, this.limit, A_MINUTE_MS, THROTTLER_NAME)
      .then(({ isBlocked, timeToBlockExpire }) => {
        if (!isBlocked) return next();
        limited = true;
        this.refuseAfterTarpit(response, Date.now() + timeToBlockExpire * 1_000);
      }, next);
  }

  private refuseAfterTarpit(response: Response, blockedUntil: number): void {
    if (this.tarpitted >= MAX_TARPITTED) return this.refuse(response, blockedUntil);
    this.tarpitted += 1;
    const timer = setTimeout(() => this.refuse(response, blockedUntil), TARPIT_MS);
    response.once('close', () => {
      clearTimeout(timer);
      this.tarpitted -= 1;
    });
  }

  /**
   * Answers 429 in the usual error envelope: nothing of the request is read, no route, filter or request log runs,
   * and no exception (with its stack trace) is made. Under a flood this is most of the work.
   */
  private refuse(response: Response, blockedUntil: number): void {
    if (response.headersSent || response.destroyed) return;
    response.writeHead(429, {
      'Content-Type': 'application/json; charset=utf-8',
      'Content-Length': this.refusalBody.length,
      'Retry-After': String(Math.max(1, Math.ceil((blockedUntil - Date.now()) / 1_000))),
    });
    response.end(this.refusalBody);
  }

  private identify(request: Request): Caller {
    const presented = readBearerKey(request.headers.authorization);
    if (typeof presented === 'string') return { key: presented };
    const actor = this.keys.authenticate(presented.key);
    return actor ? { actor, key: 'valid' } : { key: 'unknown' };
  }
}

/** The client address the per-address limit counts against (IPv6 reduced to its /64, as the throttler does). */
function addressOf(request: Request): string {
  return normalizeIp(request.ip ?? request.socket.remoteAddress ?? 'unknown');
}

function reasonOf(status: number, caller: Caller): RefusalReason {
  if (status === 429) return 'rate-limited';
  if (status === 401) return caller.key === 'missing' ? 'missing-key' : 'invalid-key';
  // Without a key no route's handler runs: a 404 is a path that names no route.
  if (status === 404) return 'unknown-route';
  return 'invalid-request';
}
