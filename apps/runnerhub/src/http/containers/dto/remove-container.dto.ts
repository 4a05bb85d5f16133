import { IsBoolean, IsOptional } from 'class-validator';
import { ToBoolean } from '../../request-values';

/** Removal options in the body. */
export class RemoveContainerDto {
  /** Remove a running container too (it is stopped at once first). Needs the `admin` role. */
  @IsOptional()
  @IsBoolean()
  force?: boolean;
}

/** Removal options in the query string, for clients that send no body with DELETE. */
export class RemoveContainerQueryDto {
  /** `true` removes a running container too (it is stopped at once first). Needs the `admin` role. */
  @IsOptional()
  @ToBoolean()
  @IsBoolean()
  force?: boolean;
}
