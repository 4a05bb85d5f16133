import { Injectable, Logger } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import type { NextFunction, Response } from 'express';
import { ApiKeyRegistry } from '../auth/api-key.registry';
import { Actor } from '../auth/auth.decorators';
import { readBearerKey } from '../auth/bearer-key';
import { isMutatingMethod } from '../mutating-methods';
import { buildAuditEntry } from './audit-entry.builder';
import { AuditRecorder } from './audit-recorder.service';
import { AuditedRequest } from './audited-request';

/** The global prefix of the REST API (bootstrap.ts's API_PREFIX, which cannot be imported here without a cycle). */
const API_PATH = /^\/api(\/|$)/;

/**
 * Audits every mutating call under /api, whatever ends it: the handler's success or failure, a failed validation, a
 * refusal by the API key guard (401, 403) or the rate limit (429), a route that does not exist (404) and a body that
 * is not JSON (400). It sits on the HTTP server itself, because an interceptor sees none but the first two. The
 * response is held back until the row is written, so a caller who got an answer finds the row already there; the
 * row records the status and error code the caller actually received.
 *
 * Installed while the application is being built, before Nest adds its body parsers on init: only middleware in
 * front of them sees the requests whose body cannot be parsed. (MiddlewareConsumer middleware comes after them.)
 */
@Injectable()
export class AuditResponseHook {
  private readonly logger = new Logger('Audit');

  constructor(
    adapterHost: HttpAdapterHost,
    private readonly recorder: AuditRecorder,
    private readonly keys: ApiKeyRegistry,
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
      void this.record(request, response.statusCode, sentBody).then(() => end(...args));
      return response;
    }) as Response['end'];
    next();
  }

  /**
   * The API key guard's verdict; where no guard ran (a route that does not exist, a body that could not be parsed),
   * the key presented still says who called.
   */
  private actorOf(request: AuditedRequest): Actor | undefined {
    if (request.actor) return request.actor;
    const presented = readBearerKey(request.headers.authorization);
    return typeof presented === 'object' ? this.keys.authenticate(presented.key) : undefined;
  }

  /** Never rejects: the response is sent whatever happens to its audit row. */
  private async record(request: AuditedRequest, status: number, body: unknown): Promise<void> {
    try {
      await this.recorder.record(buildAuditEntry(request, { status, body }, this.actorOf(request)));
    } catch (error) {
      this.logger.error(`Could not audit ${request.method} ${request.originalUrl}: ${String(error)}`);
    }
  }
}
