/**
 * Prometheus metrics of the outgoing-webhook dispatcher, in a registry the caller passes in.
 *
 * Attempts are counted as they happen (onAttempt, the dispatcher's hook). The queue's state — depth,
 * how late the oldest due delivery is, disabled webhooks — lives in PostgreSQL and is shared by every
 * dispatcher, so it is read with one SQL query when Prometheus scrapes (the gauges' `collect`), not
 * on a timer: an idle process does no work, the values are as fresh as the scrape, and nothing has to
 * be stopped. The three gauges share that query (prom-client asks each gauge separately, all at once),
 * and scrapes within `collectIntervalMs` of it reuse its values, so several scrapers (two Prometheus
 * replicas, or one per dispatcher process scraping the same database) cost one query per interval.
 */
import { Counter, Gauge, Histogram, type Registry } from "prom-client";
import type { PrismaClient } from "../../../../platform/db.ts";
import { createLogger, type Logger } from "../../../../platform/logger.ts";
import type { ClaimedDelivery, RecordedAttempt } from "./queue.ts";
import type { DeliveryOutcome } from "./schedule.ts";

export interface WebhookMetricsOptions {
  /** Only its `$queryRaw` is used, for the gauges. */
  readonly prisma: Pick<PrismaClient, "$queryRaw">;
  /** A scrape this soon after the last query reuses its values instead of querying again. @default 5_000 */
  readonly collectIntervalMs?: number;
  /** Current time, the "now" the queue's lateness is measured from (tests). @default () => new Date() */
  readonly clock?: () => Date;
  /** Where a failed gauge query is logged. @default createLogger("webhook-metrics") */
  readonly logger?: Logger;
}

export interface WebhookMetrics {
  /**
   * Counts one recorded attempt by outcome and, given `durationMs` (the attempt's AttemptResult
   * .durationMs), observes its duration. Fits WebhookDispatcherOptions.onAttempt as is (the
   * delivery itself is not looked at: no per-webhook labels); the dispatcher has to pass the
   * duration as a third argument for the histogram to fill.
   */
  onAttempt(delivery: Pick<ClaimedDelivery, "id" | "webhookId">, recorded: RecordedAttempt, durationMs?: number): void;
  /** Queries the queue now (joining a query in flight) and sets the gauges; rejects if the query fails. */
  collect(): Promise<void>;
  /** Waits for a query in flight, then removes these metrics from the registry (which may get new ones). */
  close(): Promise<void>;
}

const OUTCOMES: readonly DeliveryOutcome[] = ["success", "retry", "failed", "gone"];

/** Every metric registered here, as close() removes them. */
export const WEBHOOK_METRIC_NAMES = [
  "sunday_webhook_deliveries_total",
  "sunday_webhook_attempt_duration_seconds",
  "sunday_webhook_queue_depth",
  "sunday_webhook_oldest_pending_age_seconds",
  "sunday_webhook_disabled",
] as const;
const [DELIVERIES, DURATION, DEPTH, OLDEST_AGE, DISABLED] = WEBHOOK_METRIC_NAMES;

interface QueueRow {
  depth: number;
  oldestAgeSeconds: number;
  disabled: number;
}

export function createWebhookMetrics(registry: Registry, options: WebhookMetricsOptions): WebhookMetrics {
  const { prisma } = options;
  const collectIntervalMs = options.collectIntervalMs ?? 5_000;
  if (!Number.isFinite(collectIntervalMs) || collectIntervalMs < 0) throw new RangeError(`collectIntervalMs must be >= 0, got ${collectIntervalMs}`);
  const clock = options.clock ?? (() => new Date());
  const logger = options.logger ?? createLogger("webhook-metrics");

  let inFlight: Promise<void> | null = null;
  /** performance.now() when the last successful query started; -Infinity before one. */
  let lastQueryAt = Number.NEGATIVE_INFINITY;
  let closed = false;

  // The gauges' collect. A failed query (logged in query()) leaves the gauges at their last values
  // rather than failing the scrape: a database outage must not take the process's other metrics down.
  function scrape(): Promise<void> {
    if (closed) return Promise.resolve();
    if (inFlight === null && performance.now() - lastQueryAt < collectIntervalMs) return Promise.resolve();
    return query().catch(() => undefined);
  }

  const deliveries = new Counter({
    name: DELIVERIES,
    help: "Webhook delivery attempts recorded, by outcome (success, retry, failed, gone)",
    labelNames: ["outcome"] as const,
    registers: [registry],
  });
  const duration = new Histogram({
    name: DURATION,
    help: "Duration of webhook delivery attempts (POST until answer or error)",
    buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [registry],
  });
  const depth = new Gauge({
    name: DEPTH,
    help: "PENDING webhook deliveries, due now or later, of enabled webhooks",
    registers: [registry],
    collect: scrape,
  });
  const oldestAge = new Gauge({
    name: OLDEST_AGE,
    help: "Seconds since the oldest due PENDING delivery of an enabled webhook was due (0 if none)",
    registers: [registry],
    collect: scrape,
  });
  const disabled = new Gauge({
    name: DISABLED,
    help: "Webhooks switched off (enabled = false) and not deleted",
    registers: [registry],
    collect: scrape,
  });
  // Every outcome is exported from the start, so rate() sees the first attempt of each.
  for (const outcome of OUTCOMES) deliveries.inc({ outcome }, 0);

  async function read(): Promise<void> {
    const started = performance.now();
    const now = clock();
    // Rows without a payload (older than the queue) and rows of disabled or deleted webhooks are
    // never claimed (queue.ts claimDue), so they count neither as queued nor as late.
    const [row] = await prisma.$queryRaw<QueueRow[]>`
      SELECT
        count(*)::int AS depth,
        COALESCE(EXTRACT(EPOCH FROM ${now}::timestamptz - min(d."nextAttemptAt") FILTER (WHERE d."nextAttemptAt" <= ${now}::timestamptz)), 0)::float8
          AS "oldestAgeSeconds",
        (SELECT count(*)::int FROM integrations."Webhook" h WHERE NOT h.enabled AND h."deletedAt" IS NULL) AS disabled
      FROM integrations."WebhookDelivery" d
      JOIN integrations."Webhook" w ON w.id = d."webhookId" AND w.enabled AND w."deletedAt" IS NULL
      WHERE d.status = 'PENDING' AND d.payload IS NOT NULL`;
    if (!row) throw new Error("the webhook queue query returned no row");
    depth.set(Number(row.depth));
    oldestAge.set(Number(row.oldestAgeSeconds));
    disabled.set(Number(row.disabled));
    lastQueryAt = started;
  }

  function query(): Promise<void> {
    // Logged here, once per failed query, however many gauges (and collect() calls) waited on it.
    inFlight ??= read()
      .catch((error: unknown) => {
        logger.error({ err: error }, "could not read the webhook queue for its metrics");
        throw error;
      })
      .finally(() => {
        inFlight = null;
      });
    return inFlight;
  }

  return {
    onAttempt(_delivery, recorded, durationMs) {
      deliveries.inc({ outcome: recorded.outcome });
      if (durationMs !== undefined && Number.isFinite(durationMs)) duration.observe(Math.max(0, durationMs) / 1000);
    },

    collect() {
      if (closed) return Promise.resolve();
      return query();
    },

    async close() {
      if (closed) return;
      closed = true;
      await inFlight?.catch(() => undefined);
      for (const name of WEBHOOK_METRIC_NAMES) registry.removeSingleMetric(name);
    },
  };
}
