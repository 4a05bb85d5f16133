import { ApiProperty } from '@nestjs/swagger';
import { ArrayMaxSize, IsArray, IsNotEmpty, IsOptional, IsString, Matches, MaxLength } from 'class-validator';

/** A job for an ephemeral runner, from an internal service (GitHub's own jobs arrive through the webhook). */
export class CreateJobDto {
  /** `owner/name` of the repository the runner registers with; one REPOSITORIES_ALLOWED allows, when it is set. */
  @ApiProperty({ example: 'octo-org/hello-world' })
  @Matches(/^[\w.-]{1,100}\/[\w.-]{1,100}$/, { message: 'repository must be owner/name, e.g. octo-org/hello-world' })
  repository!: string;

  /**
   * The runner labels the job needs (`runs-on`); each must be one this RunnerHub serves (RUNNER_LABELS), or the job
   * is refused with 422 LABELS_NOT_SERVED. Default: none beyond what every runner carries.
   */
  @ApiProperty({ type: [String], required: false, example: ['self-hosted', 'linux'] })
  @IsOptional()
  @IsArray()
  @ArrayMaxSize(32)
  @Matches(/^[A-Za-z0-9._-]{1,100}$/, { each: true, message: 'each label must be 1-100 of A-Z a-z 0-9 . _ -' })
  labels?: string[];

  /** The runner image for this job; default RUNNER_IMAGE. Any other must match RUNNER_IMAGES_ALLOWED. */
  @IsOptional()
  @IsString()
  @IsNotEmpty()
  @MaxLength(512)
  @Matches(/^[a-z0-9][a-z0-9._\-/:@]*$/i, { message: 'image must be an image reference such as owner/image:tag' })
  image?: string;
}
