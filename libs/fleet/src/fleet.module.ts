import { EventPublisher } from '@app/common';
import { DockerModule } from '@app/docker';
import { PersistenceModule } from '@app/persistence';
import { Module } from '@nestjs/common';
import { EngineCatalog } from './engine-catalog';
import { EngineChangeNotifier } from './engine-change.notifier';
import { EngineContact } from './engine-contact';
import { EngineOccupancy } from './engine-occupancy';
import { EngineProbeScheduler } from './engine-probe.scheduler';
import { EngineProber } from './engine-prober';
import { FleetOverview } from './fleet-overview';

/**
 * The engines as data: the catalog that keeps the `engines` table and the EngineRegistry in step (and that the API
 * adds, changes and drains engines through), the prober that moves engines between states (`engine-probe` duty),
 * and the overview the API lists them with. Needs AppConfig, EventEmitterModule and ScheduleModule from the
 * application.
 */
@Module({
  imports: [DockerModule, PersistenceModule],
  providers: [
    EventPublisher,
    EngineChangeNotifier,
    EngineContact,
    EngineOccupancy,
    EngineCatalog,
    EngineProber,
    EngineProbeScheduler,
    FleetOverview,
  ],
  exports: [EngineCatalog, FleetOverview, EngineOccupancy],
})
export class FleetModule {}
