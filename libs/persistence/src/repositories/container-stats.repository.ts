import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, LessThan, Repository } from 'typeorm';
import { ContainerStatsSampleEntity } from '../entities';

export type NewStatsSample = Omit<ContainerStatsSampleEntity, 'id'>;

/** The sample history: written once a round, read per container, pruned by age. */
@Injectable()
export class ContainerStatsRepository {
  private readonly samples: Repository<ContainerStatsSampleEntity>;

  constructor(@InjectDataSource() dataSource: DataSource) {
    this.samples = dataSource.getRepository(ContainerStatsSampleEntity);
  }

  /** One statement per round, in chunks that stay under SQLite's bound-parameter limit. */
  async append(samples: NewStatsSample[]): Promise<void> {
    for (let i = 0; i < samples.length; i += 500) await this.samples.insert(samples.slice(i, i + 500));
  }

  /** The newest samples of one container, newest first. */
  recent(containerId: string, limit: number): Promise<ContainerStatsSampleEntity[]> {
    return this.samples.find({ where: { containerId }, order: { sampledAt: 'DESC', id: 'DESC' }, take: limit });
  }

  /** Removes samples taken before `cutoff`; returns how many went. */
  async pruneBefore(cutoff: Date): Promise<number> {
    const result = await this.samples.delete({ sampledAt: LessThan(cutoff) });
    return result.affected ?? 0;
  }
}
