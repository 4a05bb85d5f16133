import { ContainerState } from '@app/common';
import { ApiProperty } from '@nestjs/swagger';

/** One step of a container's life. */
export class ContainerTransitionDto {
  /** Null for the first step (the creation request). */
  @ApiProperty({ enum: ContainerState, enumName: 'ContainerState', nullable: true })
  fromState!: ContainerState | null;
  @ApiProperty({ enum: ContainerState, enumName: 'ContainerState' })
  toState!: ContainerState;
  reason!: string;
  /** Who asked: an API key's name, `reconciler`, `system`... */
  actor!: string;
  exitCode!: number | null;
  at!: Date;
}
