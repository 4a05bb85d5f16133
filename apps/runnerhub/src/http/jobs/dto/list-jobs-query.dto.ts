import { JobState } from '@app/common';
import { ApiProperty } from '@nestjs/swagger';
import { IsEnum, IsNotEmpty, IsOptional, IsString, MaxLength } from 'class-validator';
import { PageQueryDto } from '../../page-query.dto';

/** Filters (combined with AND) and paging of the job list, most recently queued first. */
export class ListJobsQueryDto extends PageQueryDto {
  @ApiProperty({ enum: JobState, enumName: 'JobState', required: false })
  @IsOptional()
  @IsEnum(JobState)
  state?: JobState;

  /** `owner/name`, exactly. */
  @IsOptional()
  @IsString()
  @IsNotEmpty()
  @MaxLength(256)
  repository?: string;
}
