import { CreateContainers1764374400000 } from './1764374400000-create-containers';
import { CreateApiKeysAndAuditLog1764547200000 } from './1764547200000-create-api-keys-and-audit-log';
import { CreateJobs1764633600000 } from './1764633600000-create-jobs';
import { CreateRunnersAndDeliveries1764720000000 } from './1764720000000-create-runners-and-deliveries';
import { CreateContainerStats1764806400000 } from './1764806400000-create-container-stats';
import { RealRunners1764892800000 } from './1764892800000-real-runners';
import { DeliveryRetentionIndex1764979200000 } from './1764979200000-delivery-retention-index';
import { FleetEngines1765065600000 } from './1765065600000-fleet-engines';
import { ContainerListIndexes1765152000000 } from './1765152000000-container-list-indexes';
import { RunnerPools1765238400000 } from './1765238400000-runner-pools';

/** Every migration, oldest first. A new one is appended here as well as written to its own file. */
export const MIGRATIONS = [
  CreateContainers1764374400000,
  CreateApiKeysAndAuditLog1764547200000,
  CreateJobs1764633600000,
  CreateRunnersAndDeliveries1764720000000,
  CreateContainerStats1764806400000,
  RealRunners1764892800000,
  DeliveryRetentionIndex1764979200000,
  FleetEngines1765065600000,
  ContainerListIndexes1765152000000,
  RunnerPools1765238400000,
];
