// Webhook latency over the whole path, as the issue measures it: from an event's transaction
// committing to the receiver getting its delivery. Outbox -> relay (woken by NOTIFY) -> Kafka ->
// the integrations runtime's consumer group -> queued delivery -> dispatcher -> POST to a loopback
// receiver, all in this process on the machine's PostgreSQL and Kafka (127.0.0.1:9092), or with
// BENCH_FEED=in-process the relay handing events straight to the runtime (`npm start`'s feed).
//
//   node bench/webhooks/pipeline-latency.ts            # 100 events/s for 20 s, Kafka
//   BENCH_FEED=in-process BENCH_RATE=100 BENCH_SECONDS=20 node bench/webhooks/pipeline-latency.ts
//
// Each event matches BENCH_WEBHOOKS_PER_EVENT webhooks (default 2) of 50 spread over 10 boards.
// Prints p50/p90/p99/max of commit -> received. A figure, never an assertion.
import { randomUUID } from "node:crypto";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { pino } from "pino";
import { topicsOf } from "../../events/kafka.ts";
import { startPipeline } from "../../events/pipeline.ts";
import { MemoryEventStore } from "../../events/streams/memory-store.ts";
import { createPrisma } from "../../platform/db.ts";
import { startIntegrationsRuntime } from "../../subgraphs/integrations/runtime/index.ts";
import { mintSecret } from "../../subgraphs/integrations/runtime/webhooks/secrets.ts";
import { ephemeralWebhookSettings } from "../../subgraphs/integrations/src/webhook-settings.ts";
import { recordEvent } from "../../subgraphs/shared/outbox.ts";
import { freshDatabase } from "../../test/support/migrated-database.ts";

const feed = process.env.BENCH_FEED === "in-process" ? "in-process" : "kafka";
const rate = Number(process.env.BENCH_RATE ?? 100);
const seconds = Number(process.env.BENCH_SECONDS ?? 20);
const perEvent = Number(process.env.BENCH_WEBHOOKS_PER_EVENT ?? 2);
const BOARDS = 10;
const WEBHOOKS = 50;
const silent = pino({ level: "silent" });

function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;
}

const database = await freshDatabase(`bench_webhook_latency_${feed.replace("-", "_")}`);
const prisma = createPrisma({ url: database.url, poolMax: 8 });
const settings = ephemeralWebhookSettings();
const organizationId = randomUUID();
const boards = Array.from({ length: BOARDS }, () => randomUUID());

// committed[eventId] = when its transaction committed; received: one time per (event, webhook).
const committed = new Map<string, number>();
const latencies: number[] = [];
let expected = 0;
let resolveAll: () => void = () => undefined;
const allReceived = new Promise<void>((resolve) => {
  resolveAll = resolve;
});
let writing = true;

const receiver = createServer((request, response) => {
  const chunks: Buffer[] = [];
  request.on("data", (chunk: Buffer) => chunks.push(chunk));
  request.on("end", () => {
    const at = performance.now();
    response.writeHead(204).end();
    const { id } = JSON.parse(Buffer.concat(chunks).toString("utf8")) as { id: string };
    const start = committed.get(id);
    if (start !== undefined) latencies.push(at - start);
    if (!writing && latencies.length >= expected) resolveAll();
  });
});
await new Promise<void>((resolve) => receiver.listen(0, "127.0.0.1", resolve));
const receiverUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}`;

// Webhook n covers board n % BOARDS: each board has WEBHOOKS / BOARDS webhooks; an event of a board
// matches perEvent of them (the others subscribe to a type the events never have).
for (let n = 0; n < WEBHOOKS; n += 1) {
  const matching = Math.floor(n / BOARDS) < perEvent;
  await prisma.webhook.create({
    data: {
      organizationId,
      boardId: boards[n % BOARDS],
      url: `${receiverUrl}/w/${n}`,
      secret: mintSecret(settings.keyRing).sealed,
      events: [matching ? "project.item.*" : "comment.added"],
      createdById: randomUUID(),
    },
  });
}

const runtime = await startIntegrationsRuntime({ prisma, webhooks: settings, logger: silent });
const topicPrefix = `bench.${randomUUID().slice(0, 8)}.`;
const pipeline = await startPipeline({
  transport: feed,
  databaseUrl: database.url,
  appender: feed === "in-process" ? new MemoryEventStore() : undefined,
  parts: ["relay", "consumers"],
  topicPrefix,
  clientId: "bench-webhook-latency",
  consumers: [{ groupId: `bench-integrations-${randomUUID()}`, sink: runtime.sink }],
  bridge: { awaitReady: true },
  logger: silent,
});

const total = Math.round(rate * seconds);
console.log(`webhook latency, event committed -> delivery received (${feed} feed): ${total} events at ${rate}/s, ${perEvent} deliveries each`);
const origin = { identity: { organizationId }, correlationId: "bench", source: "items" } as const;
const started = performance.now();
const cpuBefore = process.cpuUsage();
for (let i = 0; i < total; i += 1) {
  const due = started + (i * 1000) / rate;
  const wait = due - performance.now();
  if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
  const boardId = boards[i % BOARDS] ?? "";
  const itemId = randomUUID();
  const event = await prisma.$transaction((tx) =>
    recordEvent(tx, origin, {
      eventType: "project.item.created",
      aggregateType: "Item",
      aggregateId: itemId,
      version: 1,
      data: { boardId, groupId: randomUUID(), itemId, name: `Item ${i}`, position: i, assigneeIds: [], columnValues: [] },
    }),
  );
  committed.set(event.eventId, performance.now());
  expected += perEvent;
}
writing = false;
if (latencies.length >= expected) resolveAll();
const deadline = setTimeout(() => resolveAll(), 60_000);
await allReceived;
clearTimeout(deadline);
const cpu = process.cpuUsage(cpuBefore);

const sorted = [...latencies].sort((a, b) => a - b);
const fmt = (value: number) => value.toFixed(1);
console.log(`received ${latencies.length} of ${expected} deliveries`);
console.log("| feed | deliveries | p50 ms | p90 ms | p99 ms | max ms | process CPU per delivery |");
console.log("|---|---|---|---|---|---|---|");
console.log(
  `| ${feed} | ${latencies.length} | ${fmt(percentile(sorted, 50))} | ${fmt(percentile(sorted, 90))} | ${fmt(percentile(sorted, 99))} | ${fmt(sorted.at(-1) ?? Number.NaN)} | ${fmt((cpu.user + cpu.system) / 1000 / Math.max(1, latencies.length))} ms |`,
);
console.log("target: p99 <= 250 ms at 100 events/s");

await pipeline.close();
if (pipeline.kafka) {
  const admin = pipeline.kafka.admin();
  await admin.connect();
  const topics = topicsOf(topicPrefix);
  await admin.deleteTopics({ topics: [...topics.domain, topics.deadLetter] }).catch(() => undefined);
  await admin.disconnect();
}
await runtime.close();
await prisma.$disconnect();
receiver.close();
await database.drop();
