// The fault benchmark's figures as markdown (for bench/README.md): the delivery ledger's totals,
// each fault's window and the backlog it left, latencies per phase, the queue as the database
// saw it, and the parts' readiness. Times are seconds from the first event.
import { fmt, summary, table } from "../../subscriptions/lib.ts";
import type { Duplicate, Ledger } from "./ledger.ts";
import type { MissingByCause, QueueState } from "./queue-state.ts";
import type { PartEvent } from "./served-part.ts";

/** One injected fault and what followed. */
export interface FaultRecord {
  readonly name: string;
  /** When the run began to set the fault up (the runtime kill: when the receiver began holding its answers). */
  readonly armedAt: number;
  /** When the fault was injected. */
  readonly start: number;
  /** When the faulty component served again (receiver listening, runtime ready, broker started). */
  readonly back: number;
  /** Labelled moments in between ("killed", "restarted", …). */
  readonly marks: readonly { readonly label: string; readonly at: number }[];
  /** Deliveries owed by the events committed before `back` and not received by then. */
  readonly backlog: number;
  /** When the last of those arrived; null if one had not within the wait. */
  readonly drainedAt: number | null;
  /** Of the backlog, still not received when the wait ended. */
  readonly remaining: number;
  /** How long the run waited for the backlog. */
  readonly waitedMs: number;
  /** Free text (e.g. how many requests were unanswered when the runtime was killed). */
  readonly note?: string;
}

export interface RunSettings {
  readonly rate: number;
  readonly webhooks: number;
  readonly organizations: number;
  readonly deliveriesPerEvent: number;
  readonly retrySchedule: string;
  readonly receiverDownS: number;
  readonly brokerFault: string;
  readonly brokerDownS: number;
  readonly cores: number;
  readonly loadAverage: string;
  readonly durationS: number;
  /** The emulated autoanalyze's interval; null when the server's autovacuum runs. */
  readonly analyzeS: number | null;
  readonly deadlineS: number;
}

export interface RunResult {
  readonly settings: RunSettings;
  /** performance.now() of the first event: t = 0. */
  readonly t0: number;
  /** When the last event was committed. */
  readonly lastEventAt: number;
  readonly events: number;
  readonly ledger: Ledger;
  readonly faults: readonly FaultRecord[];
  readonly queue: QueueState;
  readonly parts: readonly { readonly name: string; readonly timeline: readonly PartEvent[]; readonly unexpectedExits: readonly PartEvent[] }[];
  readonly missing: MissingByCause;
  readonly producerFailures: number;
  readonly producerMaxLagMs: number;
}

const count = (value: number) => value.toLocaleString("en-US");

export function renderReport(result: RunResult): string {
  const { ledger, settings, faults } = result;
  const t = (at: number) => `+${fmt((at - result.t0) / 1000)} s`;
  const expected = ledger.expected();
  const delivered = ledger.delivered();
  const sameId = ledger.duplicates.filter((duplicate) => duplicate.webhookId === duplicate.firstWebhookId).length;
  const newId = ledger.duplicates.length - sameId;
  const unexpected = ledger.unexpected().length;
  const { missing } = result;
  const lost = missing.failed + missing.succeededUnseen + missing.notQueued + missing.unpublished;
  const lines: string[] = [];
  /** The fault a duplicate follows: the last one injected before it was sent. */
  const causeOf = (duplicate: Duplicate): FaultRecord | null => faults.findLast((fault) => fault.start <= duplicate.at) ?? null;

  lines.push("### Webhook delivery under faults (`node bench/webhooks/faults.ts`)", "");
  lines.push(
    `${settings.cores} cores, load average ${settings.loadAverage} at the end; ${settings.rate} events/s (project.item.created written to the outbox) for ` +
      `${fmt(settings.durationS, 0)} s; ${settings.webhooks} webhooks over ${settings.organizations} organisations (board-less and per board), ` +
      `${fmt(settings.deliveriesPerEvent, 1)} deliveries per event; relay and integrations runtime as their own processes, a Kafka broker of the run's own; ` +
      `WEBHOOK_RETRY_SCHEDULE=${settings.retrySchedule}; receiver down ${settings.receiverDownS} s; broker ${settings.brokerFault === "kill" ? "SIGKILLed" : "stopped"}, ` +
      `down ${settings.brokerDownS} s; ${settings.analyzeS === null ? "autovacuum on" : `autovacuum off on this server, ANALYZE every ${settings.analyzeS} s instead`}.`,
    "",
  );
  lines.push(
    table(
      ["", "count"],
      [
        ["events written", count(result.events)],
        ["deliveries expected", count(expected)],
        ["delivered (unique webhook × event)", count(delivered)],
        [`not received ${settings.deadlineS} s after the last event`, count(expected - delivered)],
        ["… still queued (late, not lost)", count(missing.pending)],
        ["**lost** (FAILED, never queued, never published, or SUCCEEDED but never received)", `**${count(lost)}**`],
        ["requests received", count(ledger.requests)],
        ["duplicates (requests beyond the first per delivery)", count(ledger.duplicates.length)],
        ["… carrying the first request's webhook-id", count(sameId)],
        ["… carrying a NEW webhook-id", `**${count(newId)}**`],
        ["webhook-ids seen on two different deliveries", count(new Set(ledger.sharedIds).size)],
        ["requests failing standardwebhooks verification", count(ledger.unverified.length)],
        ["requests for a delivery never owed", count(unexpected)],
      ],
    ),
    "",
  );

  lines.push("#### Faults", "");
  lines.push(
    table(
      ["fault", "window", "backlog when back", "drained after back", "duplicates"],
      faults.map((fault) => {
        const marks = fault.marks.map((mark) => `${mark.label} ${t(mark.at)}`).join(", ");
        return [
          fault.name + (fault.note ? ` (${fault.note})` : ""),
          `${t(fault.start)} → ${t(fault.back)} (${fmt((fault.back - fault.start) / 1000)} s${marks ? `; ${marks}` : ""})`,
          count(fault.backlog),
          fault.drainedAt === null
            ? `not within ${fmt(fault.waitedMs / 1000, 0)} s: ${count(fault.remaining)} left (${fmt((fault.backlog - fault.remaining) / (fault.waitedMs / 1000), 0)}/s)`
            : `${fmt((fault.drainedAt - fault.back) / 1000)} s`,
          duplicateSummary(ledger.duplicates.filter((duplicate) => causeOf(duplicate) === fault)),
        ];
      }),
    ),
    "",
  );
  const before = faults[0]?.armedAt ?? Number.POSITIVE_INFINITY;
  const early = ledger.duplicates.filter((duplicate) => causeOf(duplicate) === null);
  if (early.length > 0) lines.push(`Duplicates sent before the first fault: ${duplicateSummary(early)}.`, "");
  lines.push(
    "_backlog when back_: deliveries owed by the events committed before the component served again and not received by then. " +
      "_drained after back_: until the last of them was received. _duplicates_: requests repeating a delivery already received, " +
      "sent after the fault began (and before the next one began), and how long after the first request they came.",
    "",
  );

  lines.push("#### Latency, event committed → first request received (ms)", "");
  // The steady state: the last seconds before the first fault are left out, their deliveries may be caught by it.
  const phases = [
    { name: "steady, before the faults (up to 5 s before the first)", from: result.t0, to: before - 5_000 },
    ...faults.map((fault, index) => ({
      name: `${fault.name}, until ${faults[index + 1] ? "the next fault" : "the end"}`,
      from: fault.armedAt,
      to: faults[index + 1]?.armedAt ?? Number.POSITIVE_INFINITY,
    })),
  ];
  lines.push(
    table(
      ["events committed", "deliveries", "p50", "p99", "max"],
      phases.map((phase) => {
        const stats = summary(ledger.latencies(phase.from, phase.to));
        return [phase.name, count(stats.n), fmt(stats.p50, 0), fmt(stats.p99, 0), fmt(stats.max, 0)];
      }),
    ),
    "",
  );

  const { queue } = result;
  lines.push("#### Queue (database, at the end)", "");
  lines.push(
    `${count(queue.deliveries)} delivery rows (${Object.entries(queue.byStatus)
      .map(([status, rows]) => `${status} ${count(rows)}`)
      .join(", ")}); ${count(queue.attempts)} attempts recorded (${fmt(queue.attempts / Math.max(1, queue.deliveries), 2)} per delivery, ` +
      `at most ${queue.maxAttempts}); ${count(queue.unpublished)} outbox rows unpublished.`,
    "",
  );

  lines.push("#### Processes", "");
  for (const part of result.parts) {
    const spans = notReadySpans(part.timeline);
    const shown = spans.map((span) => `${t(span.from)} → ${span.to === null ? "end" : t(span.to)}${span.why ? ` (${span.why})` : ""}`);
    lines.push(`- ${part.name}: not ready ${shown.length === 0 ? "never" : shown.join("; ")}.`);
    for (const exit of part.unexpectedExits) lines.push(`  - **exited on its own** at ${t(exit.at)} (${exit.detail ?? ""}); restarted by the benchmark`);
  }
  if (result.producerFailures > 0) lines.push(`- outbox writes that failed: ${result.producerFailures}`);
  lines.push(`- the event writer fell behind its schedule by at most ${fmt(result.producerMaxLagMs, 0)} ms`, "");

  if (missing.lines.length > 0) {
    lines.push("#### Deliveries not received", "");
    lines.push(
      `still queued ${count(missing.pending)}, FAILED/SKIPPED ${count(missing.failed)}, SUCCEEDED but never received ${count(missing.succeededUnseen)}, ` +
        `published but never queued ${count(missing.notQueued)}, still in the outbox ${count(missing.unpublished)}`,
      "",
      ...missing.lines.map((line) => `- ${line}`),
      "",
    );
  }
  if (newId > 0) {
    lines.push("#### Duplicates with a new webhook-id", "");
    for (const duplicate of ledger.duplicates.filter((d) => d.webhookId !== d.firstWebhookId).slice(0, 20)) {
      lines.push(`- ${t(duplicate.at)} webhook ${duplicate.webhook}, event ${duplicate.eventId}: first ${duplicate.firstWebhookId}, then ${duplicate.webhookId}`);
    }
    lines.push("");
  }
  if (ledger.unverified.length > 0) {
    lines.push("#### Requests that failed verification", "");
    for (const request of ledger.unverified.slice(0, 10)) lines.push(`- ${t(request.at)} webhook ${request.webhook} ${request.webhookId}: ${request.error ?? ""}`);
    lines.push("");
  }
  return lines.join("\n");
}

function duplicateSummary(duplicates: readonly Duplicate[]): string {
  if (duplicates.length === 0) return "0";
  const newId = duplicates.filter((duplicate) => duplicate.webhookId !== duplicate.firstWebhookId).length;
  const delays = duplicates.map((duplicate) => (duplicate.at - duplicate.firstAt) / 1000);
  const after = `${fmt(Math.min(...delays))}–${fmt(Math.max(...delays))} s after the first`;
  return newId === 0 ? `${duplicates.length}, all same webhook-id, ${after}` : `${duplicates.length}, **${newId} with a new webhook-id**, ${after}`;
}

/** Spans during which a part was not ready (or not running), from its timeline. */
function notReadySpans(timeline: readonly PartEvent[]): { from: number; to: number | null; why: string }[] {
  const spans: { from: number; to: number | null; why: string }[] = [];
  let open: { from: number; why: string } | null = null;
  let started = false;
  for (const event of timeline) {
    if (event.kind === "ready") {
      if (open && started) spans.push({ ...open, to: event.at });
      open = null;
      started = true;
    } else if (started && !open && (event.kind === "not ready" || event.kind === "killed" || event.kind === "exited")) {
      open = { from: event.at, why: event.kind === "not ready" ? shorten(event.detail ?? "") : event.kind };
    }
  }
  if (open) spans.push({ ...open, to: null });
  return spans;
}

function shorten(reason: string): string {
  return reason.length > 90 ? `${reason.slice(0, 87)}…` : reason;
}

/** Latency by commit time, in `bucketS`-second slices: where a phase's tail comes from. */
export function renderTimeline(result: RunResult, bucketS = 10): string {
  const rows: string[][] = [];
  for (let from = result.t0; from <= result.lastEventAt; from += bucketS * 1000) {
    const stats = summary(result.ledger.latencies(from, from + bucketS * 1000));
    rows.push([`+${fmt((from - result.t0) / 1000, 0)} s`, count(stats.n), fmt(stats.p50, 0), fmt(stats.p99, 0), fmt(stats.max, 0)]);
  }
  return table([`events committed from (${bucketS} s each)`, "deliveries", "p50 ms", "p99 ms", "max ms"], rows);
}
