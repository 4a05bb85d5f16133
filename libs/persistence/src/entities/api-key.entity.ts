import { Column, CreateDateColumn, Entity, PrimaryColumn } from 'typeorm';

/**
 * An API key RunnerHub generated for itself (the first admin key, made when RUNNERHUB_API_KEYS is unset). Only the
 * key's SHA-256 is kept: whoever reads the database cannot call the API with what they find here.
 */
@Entity({ name: 'api_keys' })
export class ApiKeyEntity {
  /** The key's stable, non-secret name, `<role>-<first 8 hex of its SHA-256>`, as audit rows show it. */
  @PrimaryColumn({ type: 'varchar', length: 64 })
  name!: string;

  @Column({ type: 'varchar', length: 16 })
  role!: string;

  /** SHA-256 of the key, lower-case hex. */
  @Column({ type: 'varchar', length: 64, unique: true })
  keyHash!: string;

  @CreateDateColumn()
  createdAt!: Date;
}
