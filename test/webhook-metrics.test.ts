// subgraphs/integrations/runtime/webhooks/metrics.ts against a real PostgreSQL (a fresh migrated
// database, dropped afterwards; no seed: webhooks reference no other table).
// What it promises: at scrape time the gauges show the PENDING deliveries of enabled, not deleted
// webhooks (due or not; leased ones too; never rows without a payload), how late the oldest due one
// is (0 when none is due) and how many webhooks are switched off, from one query per scrape, reused
// within collectIntervalMs; attempts are counted by outcome (every outcome exported from the start)
// and timed when given a duration; a failing query leaves the scrape working; close() unregisters.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { pino } from "pino";
import { Registry } from "prom-client";
import type { PrismaClient } from "../platform/db.ts";
import { createWebhookMetrics, WEBHOOK_METRIC_NAMES, type WebhookMetricsOptions } from "../subgraphs/integrations/runtime/webhooks/metrics.ts";
import type { WebhookDispatcherOptions } from "../subgraphs/integrations/runtime/webhooks/dispatcher.ts";
import type { RecordedAttempt } from "../subgraphs/integrations/runtime/webhooks/queue.ts";
import { migratedDatabase } from "./support/migrated-database.ts";

const prisma = migratedDatabase("webhook_metrics");

const NOW = new Date("2026-01-15T12:00:00.000Z");
const at = (seconds: number) => new Date(NOW.getTime() + seconds * 1000);

async function webhook(spec: { enabled?: boolean; deleted?: boolean } = {}): Promise<string> {
  const row = await prisma.webhook.create({
    data: {
      organizationId: randomUUID(),
      url: `https://hooks.example.com/${randomUUID()}`,
      secret: "whsec_test",
      events: ["project.item.*"],
      enabled: spec.enabled ?? true,
      deletedAt: spec.deleted ? NOW : null,
      createdById: randomUUID(),
    },
  });
  return row.id;
}

interface DeliverySpec {
  dueIn: number;
  status?: "PENDING" | "SUCCEEDED" | "FAILED" | "SKIPPED";
  payload?: string | null;
  leased?: boolean;
}

async function delivery(webhookId: string, spec: DeliverySpec): Promise<void> {
  const { organizationId } = await prisma.webhook.findUniqueOrThrow({ where: { id: webhookId } });
  await prisma.webhookDelivery.create({
    data: {
      organizationId,
      webhookId,
      eventId: randomUUID(),
      eventType: "project.item.created",
      status: spec.status ?? "PENDING",
      payload: spec.payload === undefined ? "{}" : spec.payload,
      nextAttemptAt: at(spec.dueIn),
      lockedUntil: spec.leased ? at(60) : null,
    },
  });
}

/** The value of an unlabelled sample (or one with exactly these labels) in exposition text. */
function sample(text: string, name: string, labels = ""): number {
  const line = text.split("\n").find((candidate) => candidate.startsWith(`${name}${labels} `));
  assert.ok(line, `no sample ${name}${labels} in:\n${text}`);
  return Number(line.slice(line.lastIndexOf(" ") + 1));
}

/** Counts the queries made through it. */
function counting(): { client: Pick<PrismaClient, "$queryRaw">; readonly calls: number } {
  let calls = 0;
  const $queryRaw = ((query: TemplateStringsArray, ...values: unknown[]) => {
    calls++;
    return prisma.$queryRaw(query, ...values);
  }) as PrismaClient["$queryRaw"];
  return {
    client: { $queryRaw },
    get calls() {
      return calls;
    },
  };
}

function metricsOn(registry: Registry, options: Partial<WebhookMetricsOptions> = {}) {
  return createWebhookMetrics(registry, { prisma, clock: () => NOW, collectIntervalMs: 0, logger: pino({ level: "silent" }), ...options });
}

/** The part of a claimed delivery the metrics are given (they look at none of it). */
const claimed = () => ({ id: randomUUID(), webhookId: randomUUID() });

const recorded = (outcome: RecordedAttempt["outcome"]): RecordedAttempt => ({
  outcome,
  attempt: 1,
  status: outcome === "success" ? "SUCCEEDED" : outcome === "retry" ? "PENDING" : "FAILED",
  nextAttemptAt: null,
  webhookDisabled: outcome === "gone",
});

describe("webhook metrics", () => {
  it("show queue depth, the oldest due delivery's lateness and disabled webhooks at scrape time", async () => {
    const live = await webhook();
    await delivery(live, { dueIn: -90 });
    await delivery(live, { dueIn: -30 });
    await delivery(live, { dueIn: -10, leased: true });
    await delivery(live, { dueIn: 3600 });
    await delivery(live, { dueIn: -7200, status: "SUCCEEDED" });
    await delivery(live, { dueIn: -7200, status: "FAILED" });
    await delivery(live, { dueIn: -7200, status: "SKIPPED" });
    await delivery(live, { dueIn: -7200, payload: null });
    const off = await webhook({ enabled: false });
    await delivery(off, { dueIn: -7200 });
    const deleted = await webhook({ deleted: true });
    await delivery(deleted, { dueIn: -7200 });
    await webhook({ enabled: false, deleted: true });

    const registry = new Registry();
    const queries = counting();
    const metrics = metricsOn(registry, { prisma: queries.client });
    const text = await registry.metrics();
    assert.equal(sample(text, "sunday_webhook_queue_depth"), 4);
    assert.equal(sample(text, "sunday_webhook_oldest_pending_age_seconds"), 90);
    assert.equal(sample(text, "sunday_webhook_disabled"), 1);
    assert.equal(queries.calls, 1, "one query fills the three gauges");

    // Seen from before anything was due: the same queue, nothing late.
    const earlier = new Registry();
    const before = metricsOn(earlier, { clock: () => at(-3600) });
    const earlierText = await earlier.metrics();
    assert.equal(sample(earlierText, "sunday_webhook_queue_depth"), 4);
    assert.equal(sample(earlierText, "sunday_webhook_oldest_pending_age_seconds"), 0);
    await Promise.all([metrics.close(), before.close()]);
  });

  it("reuse a query's values within collectIntervalMs; collect() reads afresh", async () => {
    const registry = new Registry();
    const queries = counting();
    const metrics = metricsOn(registry, { prisma: queries.client, collectIntervalMs: 3_600_000 });
    const first = sample(await registry.metrics(), "sunday_webhook_disabled");
    await webhook({ enabled: false });
    assert.equal(sample(await registry.metrics(), "sunday_webhook_disabled"), first);
    assert.equal(queries.calls, 1);
    await metrics.collect();
    assert.equal(sample(await registry.metrics(), "sunday_webhook_disabled"), first + 1);
    assert.equal(queries.calls, 2);
    await metrics.close();
  });

  it("count attempts by outcome, every outcome from the start, and time them when given a duration", async () => {
    const registry = new Registry();
    const metrics = metricsOn(registry);
    // Type check: plugs into the dispatcher's hook as is.
    const hook: WebhookDispatcherOptions["onAttempt"] = metrics.onAttempt;
    assert.equal(typeof hook, "function");
    const initial = await registry.metrics();
    for (const outcome of ["success", "retry", "failed", "gone"]) {
      assert.equal(sample(initial, "sunday_webhook_deliveries_total", `{outcome="${outcome}"}`), 0);
    }
    metrics.onAttempt(claimed(), recorded("success"), 120);
    metrics.onAttempt(claimed(), recorded("success"), 30);
    metrics.onAttempt(claimed(), recorded("retry"), 10_000);
    metrics.onAttempt(claimed(), recorded("gone"));
    const text = await registry.metrics();
    assert.equal(sample(text, "sunday_webhook_deliveries_total", '{outcome="success"}'), 2);
    assert.equal(sample(text, "sunday_webhook_deliveries_total", '{outcome="retry"}'), 1);
    assert.equal(sample(text, "sunday_webhook_deliveries_total", '{outcome="gone"}'), 1);
    assert.equal(sample(text, "sunday_webhook_deliveries_total", '{outcome="failed"}'), 0);
    assert.equal(sample(text, "sunday_webhook_attempt_duration_seconds_count"), 3);
    assert.ok(Math.abs(sample(text, "sunday_webhook_attempt_duration_seconds_sum") - 10.15) < 1e-9);
    assert.equal(sample(text, "sunday_webhook_attempt_duration_seconds_bucket", '{le="0.05"}'), 1);
    assert.equal(sample(text, "sunday_webhook_attempt_duration_seconds_bucket", '{le="10"}'), 3);
    await metrics.close();
  });

  it("keep serving the scrape with the last values when the query fails; collect() rejects", async () => {
    const registry = new Registry();
    let failing = false;
    const $queryRaw = ((query: TemplateStringsArray, ...values: unknown[]) => (failing ? Promise.reject(new Error("database down")) : prisma.$queryRaw(query, ...values))) as PrismaClient["$queryRaw"];
    const logged: string[] = [];
    const metrics = metricsOn(registry, { prisma: { $queryRaw }, logger: pino({ level: "error" }, { write: (line: string) => logged.push(line) }) });
    const depth = sample(await registry.metrics(), "sunday_webhook_queue_depth");
    failing = true;
    assert.equal(sample(await registry.metrics(), "sunday_webhook_queue_depth"), depth);
    assert.equal(logged.length, 1, "the three gauges shared one failed query, logged once");
    assert.match(logged[0] ?? "", /could not read the webhook queue/);
    await assert.rejects(metrics.collect(), /database down/);
    await metrics.close();
  });

  it("leave the registry on close(), so new ones can take their place", async () => {
    const registry = new Registry();
    const first = metricsOn(registry);
    await first.close();
    for (const name of WEBHOOK_METRIC_NAMES) assert.equal(registry.getSingleMetric(name), undefined);
    const second = metricsOn(registry);
    for (const name of WEBHOOK_METRIC_NAMES) assert.notEqual(registry.getSingleMetric(name), undefined);
    second.onAttempt(claimed(), recorded("failed"));
    assert.equal(sample(await registry.metrics(), "sunday_webhook_deliveries_total", '{outcome="failed"}'), 1);
    await second.close();
  });
});
