import { randomBytes } from 'node:crypto';

/**
 * Every exec carries this variable with a value of its own. Docker 20.10 keeps an exec running after its client
 * hangs up (measured: `sleep 30` outlived a destroyed stream by its full 30 s) and has no API to kill an exec, so a
 * timed-out exec is found again by this mark in /proc/<pid>/environ, which its children inherit too.
 */
export const EXEC_MARK_VARIABLE = 'RUNNERHUB_EXEC_MARK';

export function newExecMark(): string {
  return `${EXEC_MARK_VARIABLE}=${randomBytes(12).toString('hex')}`;
}

/**
 * Run as `sh -c REAPER_SCRIPT reaper <mark>`: SIGKILLs every process whose initial environment holds the mark. The
 * mark is an argument, never in the reaper's own environment, so the reaper and its pipeline do not match
 * themselves. Needs sh, tr and grep in the image (every runner image has them); it runs as the exec's user so that it
 * may read and signal that user's processes without extra capabilities.
 */
export const REAPER_SCRIPT = [
  'for dir in /proc/[0-9]*; do',
  '  pid=${dir#/proc/}',
  '  [ "$pid" = "$$" ] && continue',
  '  if tr "\\000" "\\n" < "$dir/environ" 2>/dev/null | grep -qxF "$1"; then kill -9 "$pid" 2>/dev/null; fi',
  'done',
  'exit 0',
].join('\n');

export function reaperCommand(mark: string): string[] {
  return ['sh', '-c', REAPER_SCRIPT, 'runnerhub-exec-reaper', mark];
}
