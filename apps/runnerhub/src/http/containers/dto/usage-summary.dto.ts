import { ApiProperty } from '@nestjs/swagger';
import { ResourceUsageDto } from './resource-usage.dto';

/** One running container in the usage summary. */
export class ContainerUsageDto {
  @ApiProperty({ format: 'uuid' })
  id!: string;
  name!: string;
  jobId!: string | null;
  repository!: string | null;
  /** Null when this container could not be sampled in time (it is still counted in totalContainers). */
  @ApiProperty({ type: ResourceUsageDto, nullable: true })
  resourceUsage!: ResourceUsageDto | null;
}

/** Resource usage across every running container, sampled now. Totals are the sums of the rows. */
export class UsageSummaryDto {
  /** Running containers, sampled or not. */
  totalContainers!: number;
  /** Sum of the rows' cpuPercent (100 per busy core). */
  totalCpuPercent!: number;
  /** Sum of the rows' memoryUsage, in MiB. */
  totalMemoryMB!: number;
  /** Sum of the rows' networkRx, in MiB. */
  totalNetworkRxMB!: number;
  /** Sum of the rows' networkTx, in MiB. */
  totalNetworkTxMB!: number;
  containers!: ContainerUsageDto[];
}
