import { createHash, timingSafeEqual } from 'node:crypto';
import { AppConfig } from '@app/common';
import {
  CanActivate,
  ExecutionContext,
  Injectable,
  Logger,
  OnApplicationBootstrap,
  UnauthorizedException,
} from '@nestjs/common';
import type { Request, Response } from 'express';
import { readBearerKey } from '../http/auth/bearer-key';

const CHALLENGE = 'Bearer realm="RunnerHub metrics"';

/**
 * GET /metrics for the scraper that holds METRICS_TOKEN. The metrics are not behind an API key (a Prometheus job
 * carries one static credential and no role), so they get a token of their own; without one configured they stay
 * open, as before, and the start-up log says so.
 */
@Injectable()
export class MetricsTokenGuard implements CanActivate, OnApplicationBootstrap {
  private readonly logger = new Logger('Metrics');
  /** The token's digest: comparing digests of equal length keeps the comparison constant-time whatever is sent. */
  private readonly expected: Buffer | null;

  constructor(config: AppConfig) {
    this.expected = config.metrics.token ? digest(config.metrics.token) : null;
  }

  onApplicationBootstrap(): void {
    if (!this.expected) {
      this.logger.warn(
        'METRICS_TOKEN is not set: GET /metrics is open to anyone who can reach RunnerHub. Set it, and give ' +
          'Prometheus the same token as a bearer credential.',
      );
    }
  }

  canActivate(context: ExecutionContext): boolean {
    if (!this.expected) return true;
    const request = context.switchToHttp().getRequest<Request>();
    const response = context.switchToHttp().getResponse<Response>();
    const presented = readBearerKey(request.headers.authorization);
    if (presented === 'missing') {
      response.setHeader('WWW-Authenticate', CHALLENGE);
      throw new UnauthorizedException('GET /metrics needs `Authorization: Bearer <METRICS_TOKEN>`');
    }
    if (presented === 'malformed' || !timingSafeEqual(digest(presented.key), this.expected)) {
      response.setHeader('WWW-Authenticate', `${CHALLENGE}, error="invalid_token"`);
      throw new UnauthorizedException('The bearer token is not METRICS_TOKEN');
    }
    return true;
  }
}

function digest(token: string): Buffer {
  return createHash('sha256').update(token, 'utf8').digest();
}
