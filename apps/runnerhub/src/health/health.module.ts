import { DockerModule } from '@app/docker';
import { Module } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';
import { DockerHealthIndicator } from './docker.health-indicator';
import { HealthController } from './health.controller';

@Module({
  imports: [TerminusModule.forRoot({ errorLogStyle: 'pretty', gracefulShutdownTimeoutMs: 0 }), DockerModule],
  controllers: [HealthController],
  providers: [DockerHealthIndicator],
})
export class HealthModule {}
