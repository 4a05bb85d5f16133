import { ApiProperty } from '@nestjs/swagger';

/** One thing a cleanup scan removes (or would remove), and why. */
export class CleanupActionDto {
  /** `remove` a known container, `adopt-and-remove` a labelled one RunnerHub had no record of, `resolve` one stuck half-way. */
  @ApiProperty({ enum: ['remove', 'adopt-and-remove', 'resolve'] })
  kind!: 'remove' | 'adopt-and-remove' | 'resolve';

  /** RunnerHub's container id; null for a container it had no record of. */
  containerId!: string | null;

  /** The engine's id, for a container RunnerHub had no record of. */
  engineId!: string | null;

  name!: string;

  @ApiProperty({ enum: ['completed', 'failed', 'orphan', 'stopped', 'stuck'] })
  policy!: 'completed' | 'failed' | 'orphan' | 'stopped' | 'stuck';

  reason!: string;

  /** A running container past its time is removed with force. */
  force!: boolean;
}

/** What a scan did with one action. */
export class CleanupOutcomeDto extends CleanupActionDto {
  @ApiProperty({ enum: ['removed', 'resolved', 'skipped'] })
  outcome!: 'removed' | 'resolved' | 'skipped';

  /** Why it was skipped (someone stopped or removed it first, the engine refused...). */
  detail!: string | null;
}

export class CleanupReportDto {
  /** False when a scan was already under way on another replica: nothing was done. */
  ran!: boolean;
  startedAt!: string;
  durationMs!: number;
  outcomes!: CleanupOutcomeDto[];
}
