import { ApiProperty } from '@nestjs/swagger';
import { ResourceUsageDto } from './resource-usage.dto';

/** One running container in the usage summary, with its latest sample and how old that sample is. */
export class ContainerUsageDto {
  @ApiProperty({ format: 'uuid' })
  id!: string;
  name!: string;
  jobId!: string | null;
  repository!: string | null;
  /** The latest sample; null while the container awaits its first (it is still counted in totalContainers). */
  @ApiProperty({ type: ResourceUsageDto, nullable: true })
  resourceUsage!: ResourceUsageDto | null;
  /** When the engine took that sample (the same as resourceUsage.sampledAt); null before the first. */
  @ApiProperty({ type: String, format: 'date-time', nullable: true })
  sampledAt!: Date | null;
  /** How old the sample was when this summary was made, in milliseconds; null before the first. */
  @ApiProperty({ type: Number, nullable: true, example: 850 })
  ageMs!: number | null;
  /**
   * True when the sample is older than staleAfterMs: the container's stats stream stopped delivering, and its figures
   * may be out of date. False while it awaits its first sample.
   */
  stale!: boolean;
  /**
   * True for a container with no sample yet: it started moments ago (its first sample follows about a second after
   * its start) or monitoring has not reached it. Its resourceUsage, sampledAt and ageMs are null.
   */
  awaitingFirstSample!: boolean;
}

/**
 * Resource usage across every running container, from the latest samples monitoring keeps in memory: answered without
 * asking the engine, so each row says how old its sample is. Totals are the sums of the rows that have a sample.
 */
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
  /** A sample older than this (two sampling intervals, STATS_INTERVAL_MS) is stale, in milliseconds. */
  @ApiProperty({ example: 60_000 })
  staleAfterMs!: number;
  /** Rows whose sample is stale; their figures are in the totals all the same. */
  staleContainers!: number;
  /** Rows awaiting their first sample, left out of the totals. */
  awaitingFirstSample!: number;
  containers!: ContainerUsageDto[];
}
