import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';

/** This process's name among the replicas on one PostgreSQL (a string), injected by this token. */
export const REPLICA_ID = Symbol('REPLICA_ID');

/**
 * A name no other replica has, made at start: the host and pid say which process it is when read in a log; the
 * random suffix keeps it unique when a restarted container gets the same hostname and pid again.
 */
export function newReplicaId(): string {
  return `${hostname()}-${process.pid}-${randomBytes(3).toString('hex')}`;
}
