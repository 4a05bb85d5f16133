/** The value of an unlabelled series in the Prometheus text of GET /metrics (open in these suites), 0 when absent. */
export async function scrapeMetric(baseUrl: string, series: string): Promise<number> {
  const text = await (await fetch(`${baseUrl}/metrics`)).text();
  const line = text.split('\n').find((candidate) => candidate.startsWith(`${series} `));
  return line ? Number(line.slice(series.length + 1)) : 0;
}
