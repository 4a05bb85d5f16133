import { Column, Entity, Index, PrimaryGeneratedColumn } from 'typeorm';

export type AuditOutcome = 'success' | 'failure';

/**
 * One mutating API call, refused or carried out: who, what, on which target, and how it ended. Appended and never
 * changed. Holds no request bodies, only the few fields a route names as worth keeping (never env values or tokens).
 */
@Entity({ name: 'audit_log' })
@Index('idx_audit_at', ['at'])
@Index('idx_audit_actor', ['actor'])
@Index('idx_audit_target', ['target'])
export class AuditLogEntryEntity {
  @PrimaryGeneratedColumn({ type: 'integer' })
  id!: number;

  /** Set by the writer with milliseconds, not by the database: SQLite's datetime('now') keeps whole seconds only. */
  @Column({ type: Date })
  at!: Date;

  /** The API key's name, or `anonymous` when no key was accepted. */
  @Column({ type: 'varchar', length: 128 })
  actor!: string;

  /** The key's role; null for `anonymous`. */
  @Column({ type: 'varchar', length: 16, nullable: true })
  role!: string | null;

  /** The route's audit name (`container.stop`), or `<METHOD> <route>` for a route without one. */
  @Column({ type: 'varchar', length: 256 })
  action!: string;

  @Column({ type: 'varchar', length: 8 })
  method!: string;

  /** The path and query string as called, e.g. `/api/containers/3f0c.../stop` or `...?force=true`. */
  @Column({ type: 'text' })
  path!: string;

  /** The route's `:id`, when it has one. */
  @Column({ type: 'varchar', length: 128, nullable: true })
  target!: string | null;

  @Column({ type: 'varchar', length: 16 })
  outcome!: AuditOutcome;

  /** The HTTP status the caller received. */
  @Column({ type: 'integer' })
  status!: number;

  /** The error envelope's code on failure (`FORBIDDEN`, `ILLEGAL_TRANSITION`...). */
  @Column({ type: 'varchar', length: 64, nullable: true })
  errorCode!: string | null;

  /** The body fields the route names as worth keeping (an exec's `command`); `{}` for most calls. */
  @Column({ type: 'simple-json' })
  details!: Record<string, unknown>;

  @Column({ type: 'varchar', length: 128, nullable: true })
  requestId!: string | null;
}
