import { ContainerState } from '@app/common';
import { ContainerLifecycleManager } from '@app/lifecycle';
import { ContainerRecordEntity } from '@app/persistence';

const PAGE_SIZE = 500;

/** Every record in RUNNING, page by page. */
export async function runningContainers(lifecycle: ContainerLifecycleManager): Promise<ContainerRecordEntity[]> {
  const all: ContainerRecordEntity[] = [];
  for (let offset = 0; ; offset += PAGE_SIZE) {
    const { items, total } = await lifecycle.list({ state: ContainerState.Running }, { limit: PAGE_SIZE, offset });
    all.push(...items);
    if (items.length < PAGE_SIZE || all.length >= total) return all;
  }
}
