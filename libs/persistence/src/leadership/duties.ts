/**
 * The periodic duties that one replica at a time performs. Each has a fixed advisory-lock key: the keys are what the
 * replicas agree on, so a key never changes once released and a new duty takes a new number.
 */
export const DUTY_LOCK_KEYS = {
  cleanup: 1,
  retention: 2,
  'stale-sweep': 3,
  'monitoring-stats': 4,
  'monitoring-health': 5,
  /** Pinging every engine, marking the silent ones unreachable, finishing drains. */
  'engine-probe': 6,
  /** Keeping the warm pools at their size: starting idle runners ahead of demand, retiring the surplus. */
  'runner-pools': 7,
} as const;

export type Duty = keyof typeof DUTY_LOCK_KEYS;

export const DUTIES = Object.keys(DUTY_LOCK_KEYS) as Duty[];

/**
 * The first half of every duty's two-part advisory key ("RNHB"), so that no other user of advisory locks in the same
 * database (ScanLock's one-part keys included: PostgreSQL tells the two forms apart) can collide with a duty.
 */
export const DUTY_LOCK_NAMESPACE = 0x524e4842;
