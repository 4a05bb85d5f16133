import {
  ArrayMaxSize,
  ArrayMinSize,
  IsArray,
  IsInt,
  IsNotEmpty,
  IsOptional,
  IsString,
  Matches,
  Max,
  MaxLength,
  Min,
} from 'class-validator';

/** A command to run in a running container. It is never handed to a shell: use `["sh", "-c", "..."]` for one. */
export class ExecInContainerDto {
  /** Argument vector, 1 to 256 arguments. */
  @IsArray()
  @ArrayMinSize(1)
  @ArrayMaxSize(256)
  @IsString({ each: true })
  @MaxLength(8192, { each: true })
  command!: string[];

  /** User (name or uid[:gid]) to run as; default the container's user. */
  @IsOptional()
  @IsString()
  @IsNotEmpty()
  @MaxLength(64)
  user?: string;

  /** Absolute working directory; default the container's. */
  @IsOptional()
  @IsString()
  @Matches(/^\//, { message: 'workingDir must be an absolute path' })
  @MaxLength(1024)
  workingDir?: string;

  /** Extra environment as `KEY=value`; never written to the audit log. */
  @IsOptional()
  @IsArray()
  @ArrayMaxSize(256)
  @IsString({ each: true })
  @MaxLength(32_768, { each: true })
  @Matches(/^[A-Za-z_][A-Za-z0-9_]*=/, { each: true, message: 'each env entry must be KEY=value' })
  env?: string[];

  /** Deadline for the whole command in milliseconds, 1 to 300000 (default 30000); 504 when it passes. */
  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(300_000)
  timeoutMs?: number;
}
