import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, IsNull, LessThan, Not, Repository } from 'typeorm';
import { RunnerEntity, RunnerStatus } from '../entities';
import { updateVersioned } from './versioned-update';

export type NewRunner = Pick<
  RunnerEntity,
  'id' | 'name' | 'githubRunnerId' | 'scopeKind' | 'scopeName' | 'labels' | 'registration' | 'jobId' | 'profile'
> &
  Partial<Pick<RunnerEntity, 'pool'>>;

export type RunnerChanges = Partial<
  Pick<RunnerEntity, 'status' | 'containerId' | 'githubRunnerId' | 'deregisteredAt' | 'githubJobId'>
>;

/** The runners RunnerHub registered with GitHub. Writers say which version they read, so none overwrites another. */
@Injectable()
export class RunnerRepository {
  private readonly runners: Repository<RunnerEntity>;

  constructor(@InjectDataSource() dataSource: DataSource) {
    this.runners = dataSource.getRepository(RunnerEntity);
  }

  create(runner: NewRunner): Promise<RunnerEntity> {
    return this.runners.save(
      this.runners.create({
        pool: null,
        ...runner,
        status: RunnerStatus.Idle,
        containerId: null,
        deregisteredAt: null,
        githubJobId: null,
      }),
    );
  }

  findByName(name: string): Promise<RunnerEntity | null> {
    return this.runners.findOneBy({ name });
  }

  update(id: string, expectedVersion: number, changes: RunnerChanges): Promise<RunnerEntity> {
    return updateVersioned(this.runners, 'Runner', id, expectedVersion, changes);
  }

  findById(id: string): Promise<RunnerEntity | null> {
    return this.runners.findOneBy({ id });
  }

  findByContainerId(containerId: string): Promise<RunnerEntity | null> {
    return this.runners.findOneBy({ containerId });
  }

  findByJobId(jobId: string): Promise<RunnerEntity[]> {
    return this.runners.find({ where: { jobId }, order: { createdAt: 'ASC' } });
  }

  /** Runners GitHub may still list (registered, never seen removed) that got no container and were made before `cutoff`. */
  findRegisteredWithoutContainer(cutoff: Date): Promise<RunnerEntity[]> {
    return this.runners.find({
      where: {
        deregisteredAt: IsNull(),
        githubRunnerId: Not(IsNull()),
        containerId: IsNull(),
        createdAt: LessThan(cutoff),
      },
    });
  }
}
