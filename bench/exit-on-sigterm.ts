/**
 * Preloaded into the service process only when BENCH_CPU_PROFILE_DIR asks for a CPU profile (startServiceProcess).
 * Node writes a `--cpu-prof` profile when the process exits, but not when a signal kills it, which is how Nest's
 * shutdown hooks end: this listener, registered before Nest's, exits normally on SIGTERM so that the profile is
 * written. A profiled run skips the graceful shutdown, which is not what it measures.
 */
process.once('SIGTERM', () => process.exit(0));
