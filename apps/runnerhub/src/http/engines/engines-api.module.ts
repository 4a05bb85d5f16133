import { FleetModule } from '@app/fleet';
import { Module } from '@nestjs/common';
import { EnginesController } from './engines.controller';

/** /api/engines: the fleet's Docker engines, through libs/fleet. */
@Module({
  imports: [FleetModule],
  controllers: [EnginesController],
})
export class EnginesApiModule {}
