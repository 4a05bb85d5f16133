import { ContainerState } from '@app/common';
import { ApiProperty } from '@nestjs/swagger';
import { IsEnum, IsNotEmpty, IsOptional, IsString, MaxLength } from 'class-validator';
import { PageQueryDto } from '../../page-query.dto';

/** Filters (all optional, combined with AND) and paging of the container list, newest first. */
export class ListContainersQueryDto extends PageQueryDto {
  @ApiProperty({ enum: ContainerState, enumName: 'ContainerState', required: false })
  @IsOptional()
  @IsEnum(ContainerState)
  state?: ContainerState;

  /** `owner/name`, exactly. */
  @IsOptional()
  @IsString()
  @IsNotEmpty()
  @MaxLength(256)
  repository?: string;

  @IsOptional()
  @IsString()
  @IsNotEmpty()
  @MaxLength(128)
  jobId?: string;

  @IsOptional()
  @IsString()
  @IsNotEmpty()
  @MaxLength(128)
  runnerId?: string;
}
