import { DomainError, ErrorCode } from '@app/common';
import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, IsNull, Not, Repository } from 'typeorm';
import { RunnerEntity, RunnerStatus } from '../entities';

export type NewRunner = Pick<
  RunnerEntity,
  'id' | 'name' | 'githubRunnerId' | 'scopeKind' | 'scopeName' | 'labels' | 'registration' | 'jobId'
>;

export type RunnerChanges = Partial<Pick<RunnerEntity, 'status' | 'containerId' | 'githubRunnerId' | 'deregisteredAt'>>;

/** The runners RunnerHub registered with GitHub. Writers say which version they read, so none overwrites another. */
@Injectable()
export class RunnerRepository {
  private readonly runners: Repository<RunnerEntity>;

  constructor(@InjectDataSource() dataSource: DataSource) {
    this.runners = dataSource.getRepository(RunnerEntity);
  }

  create(runner: NewRunner): Promise<RunnerEntity> {
    return this.runners.save(
      this.runners.create({ ...runner, status: RunnerStatus.Idle, containerId: null, deregisteredAt: null }),
    );
  }

  async update(id: string, expectedVersion: number, changes: RunnerChanges): Promise<RunnerEntity> {
    const result = await this.runners.update(
      { id, version: expectedVersion },
      { ...changes, version: expectedVersion + 1 },
    );
    if (result.affected === 0) {
      const current = await this.runners.findOneBy({ id });
      if (!current) throw new DomainError(ErrorCode.NotFound, `Runner ${id} does not exist`, { id });
      throw new DomainError(ErrorCode.Conflict, `Runner ${id} was changed by another request`, { id });
    }
    return this.runners.findOneByOrFail({ id });
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

  /** Runners GitHub may still list: registered, never seen removed. */
  findStillRegistered(): Promise<RunnerEntity[]> {
    return this.runners.find({ where: { deregisteredAt: IsNull(), githubRunnerId: Not(IsNull()) } });
  }
}
