import { Injectable, Logger } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import type { NextFunction, Response } from 'express';
import { Actor } from '../auth/auth.decorators';
import { CallerAdmission } from '../auth/caller-admission.hook';
import { isMutatingMethod } from '../mutating-methods';
import { buildAuditEntry } from './audit-entry.builder';
import { AuditRecorder } from './audit-recorder.service';
import { AuditedRequest } from './audited-request';

/** The global prefix of the REST API (bootstrap.ts's API_PREFIX, which cannot be imported here without a cycle). */
const API_PATH = /^\/api(\/|$)/;

/**
 * Audits every mutating call under /api made with a valid API key, whatever ends it: the handler's success or
 * failure, a failed validation, a refusal by the role check (403) or the rate limit (429), a route that does not
 * exist (404) and a body that is not JSON (400). It sits on the HTTP server itself, because an interceptor sees none
 * but the first two. The response is held back until the row is written, so a caller who got an answer finds the row
 * already there; the row records the status and error code the caller actually received.
 *
 * A call without a valid key gets a row only when it succeeds (a signed webhook). Refused, it writes nothing of its
 * own: CallerAdmission reports it to AnonymousRefusals, which counts it and writes one summary row a minute, so that
 * a stranger cannot make RunnerHub write a row per request.
 *
 * Installed while the application is being built, before Nest adds its body parsers on init: only middleware in
 * front of them sees the requests whose body cannot be parsed. (MiddlewareConsumer middleware comes after them.)
 * CallerAdmission is injected, and so built and installed first: calls it refuses never reach this hook.
 */
@Injectable()
export class AuditResponseHook {
  private readonly logger = new Logger('Audit');

  constructor(
    adapterHost: HttpAdapterHost,
    private readonly recorder: AuditRecorder,
    private readonly admission: CallerAdmission,
  ) {
    const adapter = adapterHost.httpAdapter;
    if (adapter) {
      adapter.use((request: AuditedRequest, response: Response, next: NextFunction) =>
        this.watch(request, response, next),
      );
    } else {
      this.logger.warn('No HTTP server while the application was built: mutating calls will not be audited');
    }
  }

  private watch(request: AuditedRequest, response: Response, next: NextFunction): void {
    if (!isMutatingMethod(request.method) || !API_PATH.test(request.path)) return next();
    let sentBody: unknown;
    const json = response.json.bind(response);
    response.json = (body?: unknown) => {
      sentBody = body;
      return json(body);
    };
    const end = response.end.bind(response) as (...args: unknown[]) => Response;
    let held = false;
    response.end = ((...args: unknown[]) => {
      // Whoever ends a response ends it once; a second call while the first is held back must not overtake it.
      if (held) return response;
      held = true;
      const actor = this.actorOf(request);
      // Counted, not audited: CallerAdmission saw that no valid key came with it.
      if (actor === undefined && response.statusCode >= 400) return end(...args);
      void this.record(request, response.statusCode, sentBody, actor).then(() => end(...args));
      return response;
    }) as Response['end'];
    next();
  }

  /**
   * The API key guard's verdict; where no guard ran (a route that does not exist, a body that could not be parsed),
   * the key admission found on the request still says who called.
   */
  private actorOf(request: AuditedRequest): Actor | undefined {
    return request.actor ?? this.admission.callerOf(request)?.actor;
  }

  /** Never rejects: the response is sent whatever happens to its audit row. */
  private async record(
    request: AuditedRequest,
    status: number,
    body: unknown,
    actor: Actor | undefined,
  ): Promise<void> {
    try {
      await this.recorder.record(buildAuditEntry(request, { status, body }, actor));
    } catch (error) {
      this.logger.error(`Could not audit ${request.method} ${request.originalUrl}: ${String(error)}`);
    }
  }
}
