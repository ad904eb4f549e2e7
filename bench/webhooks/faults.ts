// Outgoing webhooks under faults, end to end in the full stack's shape: events written to the
// outbox at a steady rate, the outbox relay and the integrations runtime as their own processes
// (`node events/main.ts relay`, `node scripts/serve.ts integrations-runtime`), a Kafka broker of
// the run's own, and a loopback receiver that verifies every request with standardwebhooks.
// While events keep flowing, three faults in turn, each followed by a wait for its backlog:
//
//   1 receiver down     the receiver stops listening for BENCH_RECEIVER_DOWN_S, then listens again
//   2 runtime SIGKILL   with attempts in flight (the receiver holds its answers until 16 requests
//                       wait), the runtime is SIGKILLed and started again 2 s later
//   3 broker restart    the broker is stopped (BENCH_BROKER_FAULT=kill: SIGKILLed), left down for
//                       BENCH_BROKER_DOWN_S, and started again
//
// After each fault the run waits (at most BENCH_DRAIN_S) for the deliveries owed by the events
// committed until the component came back. Then the events stop; the run waits until every owed
// delivery has arrived (or BENCH_DEADLINE_S after the last event) and the queue has nothing left to
// send, and prints the figures as markdown: lost deliveries (a delivery still queued at the deadline
// is counted late, not lost), duplicates and whether each carried the webhook-id of the first
// request (a retry) or a new one (a second delivery), the backlog each fault left and how long it
// took to drain. It prints figures; it asserts no times. Exit code 1 when a delivery was lost, a
// duplicate carried a new webhook-id, a request failed verification, or the run itself failed.
//
//   node bench/webhooks/faults.ts                               # 6–8 min (longer on a busy machine)
//   BENCH_RECEIVER_DOWN_S=30 node bench/webhooks/faults.ts      # ~3 min
//
// Options (environment): BENCH_RECEIVER_DOWN_S (120), BENCH_RATE (20 events/s), BENCH_WEBHOOKS (20),
// BENCH_FAULTS (receiver,runtime,broker: which faults, in this order), BENCH_BROKER_FAULT (stop |
// kill), BENCH_BROKER_DOWN_S (5), BENCH_BASELINE_S (15: steady load before the first fault),
// BENCH_DRAIN_S (60), BENCH_GAP_S (10: steady load after each drain), BENCH_DEADLINE_S (180),
// BENCH_RETRY_SCHEDULE (default: long enough to outlast the receiver's outage, see below),
// BENCH_ANALYZE_S (60: when the server runs without autovacuum, ANALYZE the queue tables this
// often, as autovacuum would in production; 0: never), BENCH_LOG_LEVEL (the parts' LOG_LEVEL,
// info), BENCH_KEEP=1 (keep the database and the broker's data; kept anyway when a delivery is lost).
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { availableParallelism, tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { setTimeout as sleep } from "node:timers/promises";
import { createPrisma } from "../../platform/db.ts";
import { parseKeyRing } from "../../subgraphs/integrations/runtime/webhooks/secret-box.ts";
import { KafkaBroker } from "../../test/support/faults/kafka-broker.ts";
import { freePort } from "../../test/support/free-port.ts";
import { fmt, loadAverage, numberEnv } from "../subscriptions/lib.ts";
import { benchDatabase, createWebhooks, keyRingText, seedTargets } from "./faults/fixtures.ts";
import { Ledger } from "./faults/ledger.ts";
import { EventProducer } from "./faults/producer.ts";
import { emulateAutoanalyze, missingByCause, queueState, quiescent } from "./faults/queue-state.ts";
import { FaultyReceiver } from "./faults/receiver.ts";
import { type FaultRecord, renderReport, renderTimeline } from "./faults/report.ts";
import { ServedPart } from "./faults/served-part.ts";

const RECEIVER_DOWN_S = numberEnv("BENCH_RECEIVER_DOWN_S", 120);
const RATE = numberEnv("BENCH_RATE", 20);
const WEBHOOKS = numberEnv("BENCH_WEBHOOKS", 20);
const BROKER_FAULT = process.env.BENCH_BROKER_FAULT ?? "stop";
if (BROKER_FAULT !== "stop" && BROKER_FAULT !== "kill") throw new Error(`BENCH_BROKER_FAULT must be stop or kill, got ${BROKER_FAULT}`);
const BROKER_DOWN_S = numberEnv("BENCH_BROKER_DOWN_S", 5);
const BASELINE_S = numberEnv("BENCH_BASELINE_S", 15);
const GAP_S = numberEnv("BENCH_GAP_S", 10);
const DRAIN_S = numberEnv("BENCH_DRAIN_S", 60);
const ANALYZE_S = numberEnv("BENCH_ANALYZE_S", 60);
const FAULT_NAMES = ["receiver", "runtime", "broker"] as const;
type FaultName = (typeof FAULT_NAMES)[number];
const FAULTS = (process.env.BENCH_FAULTS ?? FAULT_NAMES.join(","))
  .split(",")
  .map((name) => name.trim())
  .filter((name) => name !== "");
for (const name of FAULTS) if (!FAULT_NAMES.includes(name as FaultName)) throw new Error(`BENCH_FAULTS: unknown fault ${name} (${FAULT_NAMES.join(", ")})`);
const DEADLINE_S = numberEnv("BENCH_DEADLINE_S", 180);
const KEEP = process.env.BENCH_KEEP === "1";
/** Requests the receiver leaves unanswered before the runtime is killed: the kill lands mid-batch. */
const IN_FLIGHT_AT_KILL = 16;

/**
 * The dispatcher's own schedule retries for ~3 days; a benchmark needs a short one, but one that
 * outlasts the receiver's outage: a delivery whose retries ran out during the outage would be
 * FAILED by configuration, not lost by a bug. Delays grow to 30 s (which bounds how long a
 * delivery waits once the receiver is back) and repeat until, with every delay at -20 % jitter,
 * the retries still span the outage plus a minute.
 */
function retryScheduleFor(downS: number): string {
  const delays = [1, 2, 5, 10, 20];
  while (0.8 * delays.reduce((a, b) => a + b, 0) < downS + 60) delays.push(30);
  return delays.map((delay) => `${delay}s`).join(",");
}
const RETRY_SCHEDULE = process.env.BENCH_RETRY_SCHEDULE ?? retryScheduleFor(RECEIVER_DOWN_S);

// The parts are started by their paths from the repository root.
process.chdir(fileURLToPath(new URL("../../", import.meta.url)));
const work = mkdtempSync(join(tmpdir(), "sunday-bench-webhooks-faults-"));
const started = performance.now();
let t0 = started;
const at = () => `+${fmt((performance.now() - t0) / 1000)} s`;
const say = (line: string) => console.log(`[${at()}] ${line}`);

say(`work dir ${work}`);
const database = await benchDatabase();
const prisma = createPrisma({ url: database.url, poolMax: 4 });
const ringText = keyRingText();
const targets = await seedTargets(prisma);
const stopAnalyzing = await emulateAutoanalyze(prisma, ANALYZE_S * 1000);
const broker = await KafkaBroker.onFreePorts(join(work, "kafka"));
const parts: ServedPart[] = [];
// If this process ends early (an error, Ctrl-C), take down what it started.
process.once("exit", () => {
  for (const part of parts) part.killNow();
  broker.killNow();
});
process.once("SIGINT", () => process.exit(130));

let ledger: Ledger | null = null;
const receiver = new FaultyReceiver(
  (index) => webhooks[index]?.secret,
  (request) => ledger?.record(request),
);
await receiver.listen(0);
const webhooks = await createWebhooks(prisma, parseKeyRing(ringText), targets, WEBHOOKS, (index) => receiver.urlOf(index));
say(`database ${database.name}: ${webhooks.length} webhooks, receiver on ${receiver.port}; starting a Kafka broker`);
await broker.start();

const env = {
  DATABASE_URL: database.url,
  KAFKA_BROKERS: broker.brokers.join(","),
  WEBHOOK_SECRET_KEYS: ringText,
  WEBHOOK_ALLOW_PRIVATE_TARGETS: "true",
  WEBHOOK_RETRY_SCHEDULE: RETRY_SCHEDULE,
  LOG_LEVEL: process.env.BENCH_LOG_LEVEL ?? "info",
};
const runtime = new ServedPart({
  name: "integrations runtime",
  args: ["scripts/serve.ts", "integrations-runtime"],
  env,
  port: await freePort(),
  logPath: join(work, "runtime.log"),
});
const relay = new ServedPart({ name: "outbox relay", args: ["events/main.ts", "relay"], env, port: await freePort(), logPath: join(work, "relay.log") });
parts.push(runtime, relay);
await runtime.start();
await relay.start();
runtime.watch();
relay.watch();

const producer = new EventProducer(prisma, targets, RATE);
const owed = new Ledger(webhooks, producer.events);
ledger = owed;
// The first event also checks the envelope against its contract; it is t = 0.
await producer.check();
t0 = producer.events[0]?.committedAt ?? performance.now();
producer.start();
say(`set up in ${fmt((t0 - started) / 1000)} s: broker ${broker.brokers.join(",")}, relay and runtime ready; writing ${RATE} events/s; retry schedule ${RETRY_SCHEDULE}`);

/** Waits until every delivery owed by the events committed by `until` has arrived, at most `deadlineMs`; logs progress. */
async function drained(what: string, until: number, deadlineMs: number): Promise<boolean> {
  const deadline = performance.now() + deadlineMs;
  let lastLog = performance.now();
  while (!owed.allIn(until)) {
    if (performance.now() > deadline) {
      say(`${what}: ${owed.missing(until).length} deliveries still to go after ${fmt(deadlineMs / 1000, 0)} s; moving on`);
      return false;
    }
    if (performance.now() - lastLog > 10_000) {
      lastLog = performance.now();
      say(`${what}: ${owed.missing(until).length} deliveries to go`);
    }
    await sleep(250);
  }
  return true;
}

const faults: FaultRecord[] = [];
async function fault(name: string, inject: (mark: (label: string) => void) => Promise<{ start: number; note?: string }>): Promise<void> {
  const armedAt = performance.now();
  const marks: { label: string; at: number }[] = [];
  const { start, note } = await inject((label) => marks.push({ label, at: performance.now() }));
  const back = performance.now();
  const backlog = owed.backlogAt(back);
  say(`${name}: back; ${backlog} deliveries owed and not received yet`);
  const complete = await drained(name, back, DRAIN_S * 1000);
  const waited = performance.now() - back;
  const drainedAt = complete ? owed.drainedAt(back) : null;
  const remaining = complete ? 0 : owed.missing(back).length;
  faults.push({ name, armedAt, start, back, marks, backlog, drainedAt, remaining, waitedMs: waited, note });
  say(`${name}: ${drainedAt === null ? `${remaining} of the backlog not drained` : `drained ${fmt((drainedAt - back) / 1000)} s after back`}`);
  await sleep(GAP_S * 1000);
}

const injections: Record<FaultName, () => Promise<void>> = {
  receiver: () =>
    fault("receiver down", async () => {
      const start = performance.now();
      await receiver.stop();
      say(`receiver down for ${RECEIVER_DOWN_S} s`);
      await sleep(RECEIVER_DOWN_S * 1000);
      await receiver.listen();
      return { start };
    }),
  runtime: () =>
    fault("runtime SIGKILLed mid-batch, restarted 2 s later", async (mark) => {
      receiver.hold();
      const holdUntil = performance.now() + 5_000;
      while (receiver.heldCount < IN_FLIGHT_AT_KILL && performance.now() < holdUntil) await sleep(5);
      const held = receiver.heldCount;
      const start = performance.now();
      await runtime.kill();
      receiver.release();
      say(`runtime SIGKILLed with ${held} requests unanswered`);
      await sleep(2_000);
      mark("restarted");
      await runtime.start();
      return { start, note: `${held} requests in flight` };
    }),
  broker: () =>
    fault(`Kafka broker ${BROKER_FAULT === "kill" ? "SIGKILLed" : "stopped"} and started`, async (mark) => {
      const start = performance.now();
      if (BROKER_FAULT === "kill") await broker.kill();
      else await broker.stop();
      mark("down");
      say(`broker down for ${BROKER_DOWN_S} s`);
      await sleep(BROKER_DOWN_S * 1000);
      mark("starting");
      await broker.start();
      return { start };
    }),
};

let failed: unknown = null;
try {
  await sleep(BASELINE_S * 1000);
  await drained("baseline", performance.now() - 2_000, 60_000);
  for (const name of FAULTS) await injections[name as FaultName]();
} catch (error) {
  failed = error;
  console.error("the run failed:", error);
}

await producer.stop();
const lastEventAt = producer.events.at(-1)?.committedAt ?? performance.now();
say(`stopped writing after ${producer.events.length} events; waiting for the rest`);
if (
  broker.running ||
  (await broker.start().then(
    () => true,
    () => false,
  ))
) {
  await drained("final", Number.POSITIVE_INFINITY, Math.max(0, lastEventAt + DEADLINE_S * 1000 - performance.now()));
}
// Nothing PENDING in the queue: no retry can still arrive, so the duplicate count is final.
const quietUntil = performance.now() + 120_000;
while (!(await quiescent(prisma)) && performance.now() < quietUntil) await sleep(500);

const missing = owed.missing();
await stopAnalyzing?.();
const result = {
  settings: {
    rate: RATE,
    webhooks: webhooks.length,
    organizations: new Set(webhooks.map((webhook) => webhook.organizationId)).size,
    deliveriesPerEvent: owed.expected() / Math.max(1, producer.events.length),
    retrySchedule: RETRY_SCHEDULE,
    receiverDownS: RECEIVER_DOWN_S,
    brokerFault: BROKER_FAULT,
    brokerDownS: BROKER_DOWN_S,
    cores: availableParallelism(),
    loadAverage: loadAverage(),
    durationS: (lastEventAt - t0) / 1000,
    analyzeS: stopAnalyzing ? ANALYZE_S : null,
    deadlineS: DEADLINE_S,
  },
  t0,
  lastEventAt,
  events: producer.events.length,
  ledger: owed,
  faults,
  queue: await queueState(prisma),
  parts: parts.map((part) => ({ name: part.name, timeline: part.timeline, unexpectedExits: part.unexpectedExits })),
  missing: await missingByCause(prisma, missing),
  producerFailures: producer.failures,
  producerMaxLagMs: producer.maxLagMs,
};

await relay.dispose();
await runtime.dispose();
await receiver.stop();
await broker.dispose();
await prisma.$disconnect();
const lost = result.missing.failed + result.missing.succeededUnseen + result.missing.notQueued + result.missing.unpublished;
const keep = KEEP || lost > 0;
if (keep) say(`kept database ${database.name} and ${work} for inspection`);
else {
  await database.drop();
  rmSync(join(work, "kafka", "kraft-logs"), { recursive: true, force: true });
}

writeFileSync(
  join(work, "results.json"),
  JSON.stringify({ t0, faults, events: producer.events.map(({ n, eventId, target, committedAt }) => ({ n, eventId, boardId: target.boardId, committedAt })), requests: receiver.requests }),
);
console.log(`\nwhole run ${fmt((performance.now() - started) / 1000, 0)} s; parts' logs and results.json (events, requests) in ${work}\n`);
console.log(renderTimeline(result), "\n");
console.log(renderReport(result));
// Not a time: a lost delivery, a second delivery under a new webhook-id or a request that does not verify is a defect.
const newIds = owed.duplicates.filter((duplicate) => duplicate.webhookId !== duplicate.firstWebhookId).length;
if (failed || lost > 0 || newIds > 0 || owed.unverified.length > 0) process.exitCode = 1;
