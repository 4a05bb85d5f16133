import { Controller, Get } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { HealthCheck, HealthCheckService } from '@nestjs/terminus';
import { Public } from '../http/auth/auth.decorators';
import { DatabaseHealthIndicator } from './database.health-indicator';
import { DockerHealthIndicator } from './docker.health-indicator';

@ApiTags('health')
@Public()
@Controller('health')
export class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly database: DatabaseHealthIndicator,
    private readonly docker: DockerHealthIndicator,
  ) {}

  /** Liveness: the process is up and its event loop turns. Deliberately checks nothing outside the process. */
  @Get()
  @HealthCheck()
  @ApiOperation({ operationId: 'getLiveness', summary: 'Liveness: the process answers' })
  liveness() {
    return this.health.check([]);
  }

  /**
   * Readiness: the service can do its work, so both the engine and the database answer. The answer names the part
   * that is down (`database`, `docker`) with its status only; the reason is in the log.
   */
  @Get('ready')
  @HealthCheck()
  @ApiOperation({ operationId: 'getReadiness', summary: 'Readiness: the Docker engine and the database answer' })
  readiness() {
    return this.health.check([() => this.database.isReachable('database'), () => this.docker.isReachable('docker')]);
  }
}
