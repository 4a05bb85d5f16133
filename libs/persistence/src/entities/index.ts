import { ContainerRecordEntity } from './container-record.entity';
import { ContainerTransitionEntity } from './container-transition.entity';

export * from './container-record.entity';
export * from './container-transition.entity';

export const ENTITIES = [ContainerRecordEntity, ContainerTransitionEntity];
