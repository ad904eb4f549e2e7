// Whole-stack soak (issue 13): the full stack with every part in its own process (four subgraphs,
// the gateway, the outbox relay, the bridge, the integrations runtime; PostgreSQL, a Redis and a
// Kafka broker of the run's own), 1,000 graphql-ws subscribers, a webhook receiver, and a mixed
// open-loop load for SOAK_MINUTES: board reads, item renames (each one an event for the board's
// subscribers and a webhook delivery) and REST partner calls. Prints per kind throughput, p50/p99
// and errors, subscription events and webhook deliveries expected vs received (lost, duplicated)
// and their latency, RSS of every process every SOAK_SAMPLE_S with its growth after the warm-up,
// the Kafka consumer groups' lag and the outbox backlog when the load stops.
//
// Then the saturation phase: a second replica of every subgraph and a second gateway join, and a
// closed loop of SOAK_SAT_CLIENTS clients (the same mix) runs in windows alternating "1×" (one
// replica of each part in the proxies' rotation) and "2×" (two of each), SOAK_SAT_ROUNDS rounds:
// the throughput ratio 2×/1× per round, with where the cores went.
//
//   node bench/soak/soak.ts                        # 10-min soak + ~4 min saturation (~17-20 min in all)
//   SOAK_MINUTES=1 node bench/soak/soak.ts         # a short run while developing
//
// Options (environment): SOAK_MINUTES (10; 0 skips the soak), SOAK_WARMUP_S (60, at most a quarter
// of the soak), SOAK_SAMPLE_S (10), SOAK_READ_RPS / SOAK_WRITE_RPS / SOAK_REST_RPS (8 / 4 / 4),
// SOAK_SUBSCRIBERS (1000), SOAK_COPIES (5 copies of the demo seed: 10 organisations, one public board
// each), SOAK_ITEMS (40 per board), SOAK_USERS (40 per organisation), SOAK_KEYS (20 per
// organisation), SOAK_SAT_S (30 s measured per window; 0 skips the phase), SOAK_SAT_WARMUP_S (5),
// SOAK_SAT_ROUNDS (3, after an unmeasured round 0 of SOAK_SAT_WARM_ROUND_S = 15 s per topology), SOAK_SAT_CLIENTS (16), SOAK_DRAIN_S (90: the longest wait for the last
// events after a phase), SOAK_DB_CONNECTIONS (45: the database's connection limit),
// SOAK_LOG_LEVEL (warn), SOAK_KEEP=1 (keep the database and the work dir). Exits 1 on a lost or
// duplicated event or delivery, a failed request or a part that exited; never on a time.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { availableParallelism, tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { randomBytes } from "node:crypto";
import { createKafka } from "../../events/kafka.ts";
import { createPrisma } from "../../platform/db.ts";
import { Receiver } from "../../test/support/webhook-receiver.ts";
import { fmt, loadAverage, median, now, numberEnv, sleep, startChild, table } from "../subscriptions/lib.ts";
import { KINDS, type Kind, type PhaseStats, type Rename } from "./workload.ts";
import type { DeliveryStats } from "./children/subscribers.ts";
import { seedSoak, soakDatabase } from "./fixtures.ts";
import { consumerLag, coresBetween, cpuSnapshot, outboxBacklog, RssSampler, type Watched } from "./measure.ts";
import { deliveryTable, errorSamples, lagLine, requestTable, rssTable, type WebhookStats } from "./report.ts";
import { Stack, SUBGRAPHS } from "./stack.ts";

const MINUTES = numberEnv("SOAK_MINUTES", 10);
const WARMUP_S = Math.min(numberEnv("SOAK_WARMUP_S", 60), (MINUTES * 60) / 4);
const SAMPLE_S = numberEnv("SOAK_SAMPLE_S", 10);
const RATES: Record<Kind, number> = { read: numberEnv("SOAK_READ_RPS", 8), write: numberEnv("SOAK_WRITE_RPS", 4), rest: numberEnv("SOAK_REST_RPS", 4) };
const SUBSCRIBERS = numberEnv("SOAK_SUBSCRIBERS", 1000);
const SAT_S = numberEnv("SOAK_SAT_S", 30);
const SAT_WARMUP_S = numberEnv("SOAK_SAT_WARMUP_S", 5);
const SAT_ROUNDS = numberEnv("SOAK_SAT_ROUNDS", 3);
const SAT_CLIENTS = numberEnv("SOAK_SAT_CLIENTS", 16);
const SAT_WARM_ROUND_S = numberEnv("SOAK_SAT_WARM_ROUND_S", 15);
const DRAIN_S = numberEnv("SOAK_DRAIN_S", 90);
const LOG_LEVEL = process.env.SOAK_LOG_LEVEL ?? "warn";
const KEEP = process.env.SOAK_KEEP === "1";
const REPLICAS = 2;

process.chdir(fileURLToPath(new URL("../../", import.meta.url)));
const work = mkdtempSync(join(tmpdir(), "sunday-bench-soak-"));
const started = performance.now();
let t0 = started;
const say = (line: string) => console.log(`[+${fmt((performance.now() - started) / 1000, 0)} s] ${line}`);
const loadAtStart = loadAverage();
say(`work dir ${work}; load average ${loadAtStart}; ${availableParallelism()} cores`);

const database = await soakDatabase(numberEnv("SOAK_DB_CONNECTIONS", 45));
const prisma = createPrisma({ url: database.url, poolMax: 2 });
const keyRingText = `soak:${randomBytes(32).toString("base64")}`;

// The receiver answers 204 at once and notes when each request arrived.
const arrivals: number[] = [];
const receiver = new Receiver((response, index) => {
  arrivals[index] = now();
  response.writeHead(204).end();
});
const fixtures = await seedSoak(prisma, {
  copies: numberEnv("SOAK_COPIES", 5),
  itemsPerBoard: numberEnv("SOAK_ITEMS", 40),
  usersPerOrganization: numberEnv("SOAK_USERS", 40),
  keysPerOrganization: numberEnv("SOAK_KEYS", 20),
  webhookUrl: await receiver.url,
  keyRingText,
});
const fixturesFile = join(work, "fixtures.json");
writeFileSync(fixturesFile, JSON.stringify(fixtures));
say(`database ${database.name}: ${JSON.stringify(fixtures.counts)}, ${fixtures.boards.length} boards under load`);

const stack = await Stack.create({ work, databaseUrl: database.url, keyRingText, logLevel: LOG_LEVEL, say });
process.once("exit", () => stack.killNow());
process.once("SIGINT", () => process.exit(130));
await stack.start();
const url = stack.proxyUrl("gateway");
say(`stack up: ${[...stack.replicas.keys()].join(", ")}, relay, bridge, runtime; gateway behind ${url}`);

const load = await startChild("load", "../../soak/children/load.ts", { url, fixturesFile });
const subscribers = await startChild("subscribers", "../../soak/children/subscribers.ts", { url, fixturesFile, count: SUBSCRIBERS, batch: 50 });
const watched = (): Watched[] => [...stack.watched(), { name: "load", pid: () => load.pid }, { name: "subscribers", pid: () => subscribers.pid }, { name: "soak", pid: () => process.pid }];
const sampler = new RssSampler(watched, database.name, () => t0);
sampler.start(SAMPLE_S * 1000);
const kafka = createKafka(`sunday-bench-soak-${process.pid}`, stack.broker.brokers);
const groups = ["sunday-bridge", "sunday-integrations"];
const failures: string[] = [];

let parsedRequests = 0;
/** Webhook receipts by rename name: arrival times. */
const hookArrivals = new Map<string, number[]>();
function readReceiver(): void {
  for (; parsedRequests < receiver.requests.length; parsedRequests += 1) {
    const name = /"to":"([^"]+)"/.exec(receiver.requests[parsedRequests]?.body ?? "")?.[1] ?? "(no name)";
    hookArrivals.set(name, [...(hookArrivals.get(name) ?? []), arrivals[parsedRequests] ?? NaN]);
  }
}
function webhookStats(renames: readonly Rename[]): WebhookStats {
  readReceiver();
  let received = 0;
  let duplicates = 0;
  const latencies: number[] = [];
  for (const rename of renames) {
    const times = hookArrivals.get(rename.name) ?? [];
    if (times.length > 0) {
      received += 1;
      duplicates += times.length - 1;
      latencies.push(Math.min(...times) - rename.sentAt);
    }
  }
  return { expected: renames.length, received, lost: renames.length - received, duplicates, latencies };
}

/** Waits (at most SOAK_DRAIN_S) until every socket and the webhook have every rename of the phase. */
async function drained(renames: readonly Rename[]): Promise<number> {
  const from = performance.now();
  for (;;) {
    const complete = await subscribers.request<number>("complete", { expected: renames });
    const hooks = webhookStats(renames);
    if ((complete === renames.length && hooks.received === renames.length) || performance.now() - from > DRAIN_S * 1000) break;
    await sleep(500);
  }
  return (performance.now() - from) / 1000;
}

async function connectSubscribers(): Promise<void> {
  const connected = await subscribers.request<{ connected: number; failed: number; failures: Record<string, number>; ms: number }>("connect", {}, 600_000);
  say(`${connected.connected} subscribers connected in ${fmt(connected.ms / 1000)} s${connected.failed ? `; ${connected.failed} failed: ${JSON.stringify(connected.failures)}` : ""}`);
  if (connected.failed > 0) failures.push(`${connected.failed} subscribers failed to connect`);
}

function checkRequests(name: string, stats: PhaseStats): void {
  const errors = KINDS.reduce((sum, kind) => sum + stats.kinds[kind].errors, 0);
  if (errors > 0) failures.push(`${name}: ${errors} requests failed`);
}

function checkDeliveries(name: string, delivered: DeliveryStats, hooks: WebhookStats): void {
  if (delivered.lost + delivered.duplicates + delivered.unexpected > 0)
    failures.push(`${name}: subscribers lost ${delivered.lost}, duplicated ${delivered.duplicates}, unexpected ${delivered.unexpected}`);
  if (hooks.lost + hooks.duplicates > 0) failures.push(`${name}: webhook lost ${hooks.lost}, duplicated ${hooks.duplicates}`);
}

const report: string[] = [];
const out = (line = "") => report.push(line);
const results: Record<string, unknown> = { settings: { MINUTES, WARMUP_S, SAMPLE_S, RATES, SUBSCRIBERS, SAT_S, SAT_WARMUP_S, SAT_ROUNDS, SAT_CLIENTS }, loadAtStart };

try {
  await connectSubscribers();
  // ───────────── the soak: open loop, one replica of each part ─────────────
  if (MINUTES > 0) {
    sampler.phase = "soak";
    t0 = performance.now();
    const cpu0 = cpuSnapshot(watched(), database.name);
    say(`soak: ${MINUTES} min open loop, per second ${RATES.read} board reads, ${RATES.write} renames, ${RATES.rest} REST calls; RSS every ${SAMPLE_S} s`);
    const progress = setInterval(() => {
      const last = sampler.samples.at(-1);
      say(`soak: ${fmt((performance.now() - t0) / 60_000)} min; gateway-1 ${fmt(last?.rss["gateway-1"] ?? NaN, 0)} MB, webhooks received ${receiver.requests.length}; load ${loadAverage()}`);
    }, 60_000);
    const stats = await load.request<PhaseStats>("open", { tag: "soak", seconds: MINUTES * 60, rates: RATES }, MINUTES * 60_000 + 300_000);
    clearInterval(progress);
    sampler.sample();
    const cpu = coresBetween(cpu0, cpuSnapshot(watched(), database.name));
    const loadAtSoakEnd = loadAverage();
    const [lagAtEnd, backlogAtEnd] = await Promise.all([consumerLag(kafka, groups), outboxBacklog(database.url)]);
    sampler.phase = "drain";
    const drainS = await drained(stats.renames);
    const [lagDrained, backlogDrained] = await Promise.all([consumerLag(kafka, groups), outboxBacklog(database.url)]);
    const delivered = await subscribers.request<DeliveryStats>("collect", { expected: stats.renames, uncertain: stats.uncertain });
    const hooks = webhookStats(stats.renames);
    checkRequests("soak", stats);
    checkDeliveries("soak", delivered, hooks);
    const rss = rssTable(sampler.samples, "soak", WARMUP_S, 60);
    out(`### Soak: ${MINUTES} min, open loop, one replica of each part, ${SUBSCRIBERS} subscribers`);
    out();
    out(`Load average ${loadAtStart} at the start, ${loadAtSoakEnd} at the end of the soak.`);
    out();
    out(requestTable(stats));
    for (const line of errorSamples(stats)) out(line);
    out();
    out(deliveryTable(delivered, hooks));
    out();
    out(
      `Sockets open at the end ${delivered.open}/${SUBSCRIBERS}; subscriptions interrupted by the gateway and resumed from their last cursor: ${delivered.resumes}${delivered.resumes ? ` (${JSON.stringify(delivered.resumeReasons)})` : ""}; unexpected events ${delivered.unexpected}; ${stats.uncertain.length} renames answered with an error (their events neither owed nor unexpected); the last events arrived ${fmt(drainS)} s after the load stopped.`,
    );
    out();
    out(`When the load stopped: ${lagLine(lagAtEnd, backlogAtEnd)}.`);
    out(`After the drain: ${lagLine(lagDrained, backlogDrained)}.`);
    out();
    out(rss.text);
    out();
    out(rss.grown.length ? `RSS growth over 10 % after the warm-up: ${rss.grown.join(", ")}.` : "No process grew more than 10 % after the warm-up.");
    out(`PostgreSQL backends of the soak's database: at most ${Math.max(...sampler.samples.map((sample) => sample.backends))}.`);
    out();
    out(
      `Cores during the soak: ${Object.entries(cpu)
        .sort((a, b) => b[1] - a[1])
        .map(([name, cores]) => `${name} ${fmt(cores, 2)}`)
        .join(", ")}.`,
    );
    out();
    results.soak = {
      stats: { ...stats, renames: stats.renames.length, uncertain: stats.uncertain.length },
      delivered: { ...delivered, toFirst: undefined, toLast: undefined },
      hooks: { ...hooks, latencies: undefined },
      lagAtEnd,
      backlogAtEnd,
      lagDrained,
      backlogDrained,
      cpu,
      loadAtSoakEnd,
    };
    console.log(`\n${report.join("\n")}\n`);
  }

  // ───────────── saturation: closed loop, 1× vs 2× replicas ─────────────
  if (SAT_S > 0) {
    sampler.phase = "saturation";
    say(`saturation: starting replica 2 of every part`);
    await Promise.all(SUBGRAPHS.map((part) => stack.addReplica(part)));
    await stack.addReplica("gateway");
    // The subscribers spread over both gateways (and stay there in both topologies: only new
    // requests follow the rotation), so the fan-out work is the same in every window.
    await stack.rotate(REPLICAS);
    await subscribers.request("disconnect");
    await connectSubscribers();
    const windows: { topology: string; round: number; stats: PhaseStats; cores: Record<string, number> }[] = [];
    const renames: Rename[] = [];
    const uncertain: string[] = [];
    // Round 0 is not measured: the new replicas and the reconnected sockets warm up in both topologies.
    for (let round = 0; round <= SAT_ROUNDS; round += 1) {
      for (const count of [1, REPLICAS]) {
        const topology = `${count}×`;
        await stack.rotate(count);
        const before = cpuSnapshot(watched(), database.name);
        const seconds = round === 0 ? SAT_WARM_ROUND_S : SAT_S;
        const stats = await load.request<PhaseStats>(
          "closed",
          { tag: `sat${count}r${round}`, clients: SAT_CLIENTS, warmupS: SAT_WARMUP_S, seconds, rates: RATES },
          (seconds + SAT_WARMUP_S) * 1000 + 300_000,
        );
        const cores = coresBetween(before, cpuSnapshot(watched(), database.name));
        renames.push(...stats.renames);
        uncertain.push(...stats.uncertain);
        if (round > 0) windows.push({ topology, round, stats, cores });
        const total = KINDS.reduce((sum, kind) => sum + stats.kinds[kind].latencies.length, 0);
        say(`saturation ${topology} round ${round}: ${fmt(total / stats.windowS)} requests/s, machine ${fmt(cores.machine ?? NaN, 2)} cores`);
      }
    }
    const [lagAtEnd, backlogAtEnd] = await Promise.all([consumerLag(kafka, groups), outboxBacklog(database.url)]);
    const drainS = await drained(renames);
    const [lagDrained, backlogDrained] = await Promise.all([consumerLag(kafka, groups), outboxBacklog(database.url)]);
    const delivered = await subscribers.request<DeliveryStats>("collect", { expected: renames, uncertain });
    const hooks = webhookStats(renames);
    for (const window of windows) checkRequests(`saturation ${window.topology} round ${window.round}`, window.stats);
    checkDeliveries("saturation", delivered, hooks);

    const group = (cores: Record<string, number>, test: (name: string) => boolean) =>
      Object.entries(cores)
        .filter(([name]) => test(name))
        .reduce((sum, [, value]) => sum + value, 0);
    const rows = windows.map(({ topology, round, stats, cores }) => {
      const total = KINDS.reduce((sum, kind) => sum + stats.kinds[kind].latencies.length, 0);
      const all = KINDS.flatMap((kind) => stats.kinds[kind].latencies).sort((a, b) => a - b);
      const errors = KINDS.reduce((sum, kind) => sum + stats.kinds[kind].errors, 0);
      const p = (q: number) => all[Math.min(all.length - 1, Math.max(0, Math.ceil(q * all.length) - 1))] ?? NaN;
      return [
        topology,
        String(round),
        fmt(total / stats.windowS),
        KINDS.map((kind) => fmt(stats.kinds[kind].latencies.length / stats.windowS)).join(" / "),
        `${fmt(p(0.5))} / ${fmt(p(0.99))}`,
        String(errors),
        fmt(
          group(cores, (name) => name.startsWith("gateway-")),
          2,
        ),
        fmt(
          group(cores, (name) => SUBGRAPHS.some((part) => name.startsWith(`${part}-`))),
          2,
        ),
        fmt(cores.postgres ?? NaN, 2),
        fmt(
          group(cores, (name) => name.startsWith("proxy-")),
          2,
        ),
        fmt(
          group(cores, (name) => ["relay", "bridge", "runtime", "kafka", "redis"].includes(name)),
          2,
        ),
        fmt(
          group(cores, (name) => ["load", "subscribers", "soak"].includes(name)),
          2,
        ),
        fmt(cores.other ?? NaN, 2),
        fmt(cores.machine ?? NaN, 2),
        fmt((((cores.machine ?? NaN) - (cores.other ?? NaN)) * 1000) / (total / stats.windowS), 1),
      ];
    });
    const rate = (window: (typeof windows)[number]) => KINDS.reduce((sum, kind) => sum + window.stats.kinds[kind].latencies.length, 0) / window.stats.windowS;
    /** Requests per second of CPU used by our processes (the machine minus the others'): the same figure whoever else runs. */
    const efficiency = (window: (typeof windows)[number]) => rate(window) / ((window.cores.machine ?? NaN) - (window.cores.other ?? NaN));
    const ratios: number[] = [];
    const efficiencyRatios: number[] = [];
    for (let round = 1; round <= SAT_ROUNDS; round += 1) {
      const one = windows.find((window) => window.round === round && window.topology === "1×");
      const two = windows.find((window) => window.round === round && window.topology === `${REPLICAS}×`);
      if (one && two) {
        ratios.push(rate(two) / rate(one));
        efficiencyRatios.push(efficiency(two) / efficiency(one));
      }
    }
    out(`### Saturation: closed loop, ${SAT_CLIENTS} clients, ${SAT_S} s measured per window after ${SAT_WARMUP_S} s, ${SAT_ROUNDS} rounds`);
    out();
    out(
      `Load average at the end: ${loadAverage()}. Each window: the same mix (${RATES.read}:${RATES.write}:${RATES.rest} reads:renames:REST), ${SUBSCRIBERS} subscribers spread over both gateways throughout.`,
    );
    out();
    out(
      table(
        [
          "replicas in rotation",
          "round",
          "requests/s",
          "read / rename / REST per s",
          "p50 / p99 ms",
          "errors",
          "gateways cores",
          "subgraphs cores",
          "postgres cores",
          "proxies cores",
          "relay+bridge+runtime+kafka+redis cores",
          "load+subscribers cores",
          "other cores",
          "machine cores",
          "our CPU ms per request",
        ],
        rows,
      ),
    );
    out();
    out(
      `Throughput ratio ${REPLICAS}×/1× per round: ${ratios.map((ratio) => `${fmt(ratio, 2)}×`).join(", ")}; median **${fmt(median(ratios), 2)}×**. Requests per second of our CPU, 2×/1×: ${efficiencyRatios.map((ratio) => `${fmt(ratio, 2)}×`).join(", ")}; median **${fmt(median(efficiencyRatios), 2)}×** (independent of how much of the machine others took).`,
    );
    out();
    out(deliveryTable(delivered, hooks));
    out();
    out(
      `Subscriptions interrupted and resumed: ${delivered.resumes}${delivered.resumes ? ` (${JSON.stringify(delivered.resumeReasons)})` : ""}; unexpected events ${delivered.unexpected}; ${uncertain.length} renames answered with an error.`,
    );
    out();
    out(`After the saturation windows: ${lagLine(lagAtEnd, backlogAtEnd)}; after ${fmt(drainS)} s of drain: ${lagLine(lagDrained, backlogDrained)}.`);
    out();
    const perProcess = windows.map(
      ({ topology, round, cores }) =>
        `${topology} r${round}: ${Object.entries(cores)
          .filter(([name]) => !["machine", "other"].includes(name))
          .sort((a, b) => b[1] - a[1])
          .slice(0, 8)
          .map(([name, value]) => `${name} ${fmt(value, 2)}`)
          .join(", ")}`,
    );
    out("Busiest processes per window (cores):");
    for (const line of perProcess) out(`- ${line}`);
    out();
    results.saturation = {
      windows: windows.map((window) => ({ ...window, stats: { ...window.stats, renames: window.stats.renames.length, uncertain: window.stats.uncertain.length } })),
      ratios,
      efficiencyRatios,
      lagAtEnd,
      backlogAtEnd,
      lagDrained,
      backlogDrained,
    };
  }
} catch (error) {
  failures.push(`the run failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
}

sampler.stop();
const exits = stack.unexpectedExits();
for (const exit of exits) failures.push(`part exited: ${exit}`);
writeFileSync(join(work, "results.json"), JSON.stringify({ ...results, rss: sampler.samples, failures }, null, 1));
await subscribers.stop().catch(() => undefined);
await load.stop().catch(() => undefined);
await stack.stop();
await receiver.close();
await prisma.$disconnect();
if (!KEEP) {
  await database.drop();
  rmSync(join(work, "kafka"), { recursive: true, force: true });
}
console.log(`\n${report.join("\n")}\n`);
console.log(`Load average at the end: ${loadAverage()}; whole run ${fmt((performance.now() - started) / 1000, 0)} s; logs and results.json in ${work}`);
if (failures.length > 0) {
  console.log(`\nFAILED:\n${failures.map((failure) => `- ${failure}`).join("\n")}`);
  process.exitCode = 1;
}
