// Reading a Prometheus text exposition (what /metrics serves) to check values, not names: a test
// scrapes before and after a request and asserts by how much one series changed.

/** One scrape: series ("name{label="value",...}", labels sorted) to their values. */
export class MetricsSnapshot {
  private readonly series: ReadonlyMap<string, number>;

  constructor(series: ReadonlyMap<string, number>) {
    this.series = series;
  }

  /** The value of the series `name` with exactly `labels`; 0 when absent (a counter not yet incremented). */
  value(name: string, labels: Readonly<Record<string, string>> = {}): number {
    return this.series.get(seriesKey(name, labels)) ?? 0;
  }

  /** Whether the series exists at all (a counter with labels appears only once incremented). */
  has(name: string, labels: Readonly<Record<string, string>> = {}): boolean {
    return this.series.has(seriesKey(name, labels));
  }

  /** Every series of the metric `name`, with its labels. */
  all(name: string): { labels: Record<string, string>; value: number }[] {
    const found: { labels: Record<string, string>; value: number }[] = [];
    for (const [key, value] of this.series) {
      const parsed = parseSeries(key);
      if (parsed?.name === name) found.push({ labels: parsed.labels, value });
    }
    return found;
  }
}

function seriesKey(name: string, labels: Readonly<Record<string, string>>): string {
  const pairs = Object.entries(labels).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return pairs.length === 0 ? name : `${name}{${pairs.map(([key, value]) => `${key}=${JSON.stringify(value)}`).join(",")}}`;
}

const SAMPLE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)(?:\s+\d+)?$/;
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;

function parseSeries(line: string): { name: string; labels: Record<string, string> } | null {
  const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?$/.exec(line);
  if (!match) return null;
  const labels: Record<string, string> = {};
  for (const [, key, value] of (match[2] ?? "").matchAll(LABEL)) labels[key as string] = unescapeLabel(value as string);
  return { name: match[1] as string, labels };
}

const unescapeLabel = (value: string) => value.replace(/\\(.)/g, (_all, char: string) => (char === "n" ? "\n" : char));

/** Parses the text format (comments and TYPE/HELP lines skipped; +Inf, -Inf and NaN understood). */
export function parseMetrics(text: string): MetricsSnapshot {
  const series = new Map<string, number>();
  for (const line of text.split("\n")) {
    if (line === "" || line.startsWith("#")) continue;
    const match = SAMPLE.exec(line.trim());
    if (!match) throw new Error(`not a Prometheus sample line: ${line}`);
    const parsed = parseSeries(match[2] === undefined ? (match[1] as string) : `${match[1]}{${match[2]}}`);
    if (!parsed) throw new Error(`not a Prometheus sample line: ${line}`);
    const raw = match[3] as string;
    const value = raw === "+Inf" ? Infinity : raw === "-Inf" ? -Infinity : Number(raw);
    series.set(seriesKey(parsed.name, parsed.labels), value);
  }
  return new MetricsSnapshot(series);
}

/** Scrapes `<baseUrl>/metrics`. */
export async function scrapeMetrics(baseUrl: string): Promise<MetricsSnapshot> {
  const response = await fetch(`${baseUrl}/metrics`);
  if (response.status !== 200) throw new Error(`/metrics answered ${response.status}`);
  return parseMetrics(await response.text());
}
