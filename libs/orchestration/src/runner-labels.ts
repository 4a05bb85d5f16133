/**
 * Whether this RunnerHub serves a job: every label the job asks for (`runs-on`) must be one its runners carry.
 * GitHub compares labels without regard to case, and so does this.
 */
export function unservedLabels(served: readonly string[], requested: readonly string[]): string[] {
  const offered = new Set(served.map((label) => label.toLowerCase()));
  return requested.filter((label) => !offered.has(label.toLowerCase()));
}
