import { ApiProperty } from '@nestjs/swagger';
import { IsArray, IsIn, IsInt, IsNumber, IsOptional, IsString } from 'class-validator';

/**
 * Changes to an engine: labels and capacity (of engines added through the API only: a configured engine's are
 * DOCKER_ENGINES'), and `state: active` to undrain. Fields left out stay as they are; null capacity is read from the
 * engine's `info` again. Checked with DOCKER_ENGINES' rules.
 */
export class UpdateEngineDto {
  /** Replaces the labels. */
  @ApiProperty({ type: [String], required: false, example: ['gpu', 'arm64'] })
  @IsOptional()
  @IsArray()
  @IsString({ each: true })
  labels?: string[];

  /** MiB; null: the engine's own total. */
  @ApiProperty({ type: Number, nullable: true, required: false })
  @IsOptional()
  @IsInt()
  memoryMb?: number | null;

  /** null: the engine's own count. */
  @ApiProperty({ type: Number, nullable: true, required: false })
  @IsOptional()
  @IsNumber({ allowNaN: false, allowInfinity: false })
  cpus?: number | null;

  /** null: no limit beyond MAX_CONCURRENT_CONTAINERS. */
  @ApiProperty({ type: Number, nullable: true, required: false })
  @IsOptional()
  @IsInt()
  maxContainers?: number | null;

  /** `active` undrains a draining or drained engine; to drain one, POST /api/engines/{name}/drain. */
  @ApiProperty({ enum: ['active'], required: false })
  @IsOptional()
  @IsIn(['active'], {
    message: 'state can only be active (to undrain); drain an engine with POST /api/engines/{name}/drain',
  })
  state?: 'active';
}
