import { DockerModule } from '@app/docker';
import { Module } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';
import { DatabaseHealthIndicator } from './database.health-indicator';
import { DockerHealthIndicator } from './docker.health-indicator';
import { HealthController } from './health.controller';

@Module({
  imports: [
    // No log of terminus's own: it would write every failed probe at error level, with the details the answer
    // carries; the indicators log why a part is down, once.
    TerminusModule.forRoot({ logger: false, gracefulShutdownTimeoutMs: 0 }),
    DockerModule,
  ],
  controllers: [HealthController],
  providers: [DockerHealthIndicator, DatabaseHealthIndicator],
})
export class HealthModule {}
