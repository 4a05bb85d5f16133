import { ApiProperty } from '@nestjs/swagger';
import { ROLES } from '../../auth/auth.decorators';
import type { Role } from '../../auth/auth.decorators';

/** One mutating API call, carried out or refused. */
export class AuditEntryDto {
  id!: number;
  /** When the call was answered. */
  at!: Date;
  /** The API key's name (`admin-3f9a1c2b`), or `anonymous` (with a null role) when no key was accepted. */
  actor!: string;
  // No description here: Swagger would hang it on the shared Role schema.
  @ApiProperty({ enum: ROLES, enumName: 'Role', nullable: true })
  role!: Role | null;
  /**
   * The route's audit name (`container.stop`), or `<METHOD> <route>` for a route without one, or
   * `auth.anonymous-refused` for a minute's summary of refused calls without a valid key.
   */
  action!: string;
  method!: string;
  /** The path and query string as called, cut at 512 characters. */
  path!: string;
  /** The id the call was about: the route's `:id`, or the id a create answered with. */
  target!: string | null;
  @ApiProperty({ enum: ['success', 'failure'], enumName: 'AuditOutcome' })
  outcome!: 'success' | 'failure';
  /** The HTTP status the caller received. */
  status!: number;
  /** The error code the caller received, on failure. */
  errorCode!: string | null;
  /**
   * The few request fields the operation keeps for the record, e.g. an exec's `command`; never env or secrets. An
   * `auth.anonymous-refused` entry holds `refused`, `addresses`, `statuses`, `since` and `until`.
   */
  @ApiProperty({ type: 'object', additionalProperties: true, example: { command: ['uname', '-a'] } })
  details!: Record<string, unknown>;
  /** The request id (the X-Request-Id header), to find the call in the service log. */
  requestId!: string | null;
}
