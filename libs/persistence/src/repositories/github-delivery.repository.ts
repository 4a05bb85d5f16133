import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager, Repository } from 'typeorm';
import { GitHubDeliveryEntity } from '../entities';

/** Webhook deliveries already handled, by GitHub's delivery id. */
@Injectable()
export class GitHubDeliveryRepository {
  private readonly deliveries: Repository<GitHubDeliveryEntity>;

  constructor(@InjectDataSource() dataSource: DataSource) {
    this.deliveries = dataSource.getRepository(GitHubDeliveryEntity);
  }

  find(deliveryId: string, manager?: EntityManager): Promise<GitHubDeliveryEntity | null> {
    return (manager ?? this.deliveries.manager).findOneBy(GitHubDeliveryEntity, { deliveryId });
  }

  /** Records a delivery; inside the caller's transaction, so it is kept only if what it caused is kept too. */
  async record(delivery: Omit<GitHubDeliveryEntity, 'receivedAt'>, manager: EntityManager): Promise<void> {
    await manager.insert(GitHubDeliveryEntity, { ...delivery, receivedAt: new Date() });
  }
}
