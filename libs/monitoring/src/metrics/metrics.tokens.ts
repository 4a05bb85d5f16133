/**
 * The application's own prom-client Registry (not prom-client's global one). Each MetricsModule.forRoot() makes a
 * fresh one, so two applications in one process (the test suites boot one per database) never share series, nor
 * collectors bound to the other's closed database.
 */
export const METRICS_REGISTRY = Symbol('METRICS_REGISTRY');
