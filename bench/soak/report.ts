// The soak's printed figures: markdown tables (bench/README.md takes them as they are).
import { fmt, summary, table } from "../subscriptions/lib.ts";
import { KINDS, type Kind, type PhaseStats } from "./workload.ts";
import type { DeliveryStats } from "./children/subscribers.ts";
import type { GroupLag, OutboxBacklog, RssSample } from "./measure.ts";

const LABEL: Record<Kind, string> = {
  read: "board read (GraphQL, 25 items)",
  write: "item rename (GraphQL mutation)",
  rest: "REST partner call (API key, GET /boards/{id}/items)",
};

export function requestTable(stats: PhaseStats): string {
  return table(
    ["kind", "answered", "per s", "p50 ms", "p99 ms", "max ms", "errors"],
    KINDS.map((kind) => {
      const figures = summary(stats.kinds[kind].latencies);
      return [LABEL[kind], String(figures.n), fmt(figures.n / stats.windowS), fmt(figures.p50), fmt(figures.p99), fmt(figures.max), String(stats.kinds[kind].errors)];
    }),
  );
}

export function errorSamples(stats: PhaseStats): string[] {
  return KINDS.flatMap((kind) => stats.kinds[kind].errorSamples.map((sample) => `  ${kind}: ${sample}`));
}

export interface WebhookStats {
  readonly expected: number;
  readonly received: number;
  readonly lost: number;
  readonly duplicates: number;
  readonly latencies: number[];
}

export function deliveryTable(subscribers: DeliveryStats, webhooks: WebhookStats): string {
  const first = summary(subscribers.toFirst);
  const last = summary(subscribers.toLast);
  const hook = summary(webhooks.latencies);
  return table(
    ["what", "expected", "received", "lost", "duplicated", "p50 ms", "p99 ms", "max ms"],
    [
      [
        "subscription events (rename due → first socket of the board)",
        String(subscribers.owed),
        String(subscribers.received),
        String(subscribers.lost),
        String(subscribers.duplicates),
        fmt(first.p50),
        fmt(first.p99),
        fmt(first.max),
      ],
      ["subscription events (rename due → last socket of the board)", "", "", "", "", fmt(last.p50), fmt(last.p99), fmt(last.max)],
      [
        "webhook deliveries (rename due → receiver)",
        String(webhooks.expected),
        String(webhooks.received),
        String(webhooks.lost),
        String(webhooks.duplicates),
        fmt(hook.p50),
        fmt(hook.p99),
        fmt(hook.max),
      ],
    ],
  );
}

/** RSS per process at warm-up end and at the end, growth, peak; plus one column per `everyS`. */
export function rssTable(samples: readonly RssSample[], phase: string, warmupS: number, everyS: number): { text: string; grown: string[] } {
  const inPhase = samples.filter((sample) => sample.phase === phase);
  const start = inPhase[0]?.t ?? 0;
  const warm = inPhase.find((sample) => sample.t - start >= warmupS) ?? inPhase[0];
  const end = inPhase.at(-1);
  const names = Object.keys(end?.rss ?? {});
  const marks: RssSample[] = [];
  for (const sample of inPhase) if (marks.length === 0 || sample.t - (marks.at(-1)?.t ?? 0) >= everyS - 0.5) marks.push(sample);
  const grown: string[] = [];
  const rows = names.map((name) => {
    const atWarm = warm?.rss[name] ?? NaN;
    const atEnd = end?.rss[name] ?? NaN;
    const growth = ((atEnd - atWarm) / atWarm) * 100;
    if (growth > 10) grown.push(`${name} +${fmt(growth)} %`);
    const peak = Math.max(...inPhase.map((sample) => sample.rss[name] ?? 0));
    return [name, fmt(atWarm, 0), fmt(atEnd, 0), `${growth > 0 ? "+" : ""}${fmt(growth)} %${growth > 10 ? " ⚠" : ""}`, fmt(peak, 0), marks.map((mark) => fmt(mark.rss[name] ?? NaN, 0)).join(" ")];
  });
  const header = ["process", `RSS MB at warm-up end (${fmt((warm?.t ?? 0) - start, 0)} s)`, `at end (${fmt((end?.t ?? 0) - start, 0)} s)`, "growth", "peak", `every ${everyS} s from the start`];
  return { text: table(header, rows), grown };
}

export function lagLine(lags: readonly GroupLag[], backlog: OutboxBacklog): string {
  const groups = lags.map((lag) => `${lag.groupId} lag ${lag.lag}`).join(", ");
  const age = backlog.oldestAgeS === null ? "none" : `oldest ${fmt(backlog.oldestAgeS, 2)} s old`;
  return `Kafka: ${groups} (of ${lags[0]?.produced ?? 0} messages on the topics); outbox: ${backlog.unpublished} unpublished of ${backlog.total} rows, ${age}`;
}
