import { METRICS_REGISTRY } from '@app/monitoring/metrics';
import { Controller, Get, Inject, StreamableFile, UseGuards } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import { Registry } from 'prom-client';
import { Public } from '../http/auth/auth.decorators';
import { MetricsTokenGuard } from './metrics-token.guard';

/**
 * GET /metrics for Prometheus: no API key (scrapers carry none) but METRICS_TOKEN as a bearer token when it is set,
 * outside the `api` prefix and the OpenAPI document, and plain exposition text with prom-client's content type rather
 * than the JSON envelope. Mounted by MetricsModule.forRoot({ controller: MetricsController }) through
 * @willsoto/nestjs-prometheus, which sets its path.
 */
@ApiExcludeController()
@Public()
@UseGuards(MetricsTokenGuard)
@Controller('metrics')
export class MetricsController {
  constructor(@Inject(METRICS_REGISTRY) private readonly registry: Registry) {}

  /**
   * The registry's text as bytes: Express re-formats the content type of a string body to add its charset and sorts
   * the parameters on the way (`charset=utf-8; version=0.0.4`), and Nest sends any other object as JSON, a Buffer
   * included; a StreamableFile goes out as it is, with exactly the content type prom-client declares.
   */
  @Get()
  async scrape(): Promise<StreamableFile> {
    const body = Buffer.from(await this.registry.metrics(), 'utf8');
    return new StreamableFile(body, { type: this.registry.contentType, length: body.length });
  }
}
