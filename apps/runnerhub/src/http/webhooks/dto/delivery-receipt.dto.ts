import { ApiProperty } from '@nestjs/swagger';

/** What RunnerHub did with a webhook delivery. */
export class DeliveryReceiptDto {
  /** GitHub's `X-GitHub-Delivery` id. */
  deliveryId!: string;

  /** This delivery had been handled before; nothing was done again. */
  duplicate!: boolean;

  @ApiProperty({ enum: ['queued', 'updated', 'ignored'] })
  outcome!: 'queued' | 'updated' | 'ignored';

  /** The job it queued or updated (null on a duplicate or an ignored delivery). */
  jobId!: string | null;

  /** Why it was ignored, or what it did. */
  detail!: string;
}
