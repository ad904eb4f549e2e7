// Subscription latency through the real stack: mutation sent -> event received by a graphql-ws
// subscriber, per event, through PostgreSQL (outbox), the outbox relay, Kafka, the bridge, Redis
// Streams and the gateway. Prints p50/p99/max, lost/duplicate counts and a per-stage breakdown.
//
//   node bench/subscriptions/latency.ts
//
// Processes: this one (the subscriber and the mutation client), children/stack.ts (four subgraphs
// and the gateway with subscriptions), children/pipeline.ts (outbox relay and bridge). PostgreSQL
// (127.0.0.1:5432), Kafka (started from infra/kafka when nothing answers) and Redis (127.0.0.1:6379)
// are the machine's. A fresh database is created, migrated and seeded, and dropped at the end;
// Redis keys live under a unique prefix and are deleted.
import http from "node:http";
import { Redis } from "./redis.ts";
import { migrate } from "../../prisma/tools/migrate.ts";
import { seedDemo } from "../../prisma/seed.ts";
import { createPrisma } from "../../platform/db.ts";
import { mintToken } from "../../gateway/src/auth/jwt.ts";
import { ensureKafka } from "../../infra/kafka/ready.ts";
import {
  BENCH_JWT,
  BENCH_SIGNING_SECRET,
  REDIS_URL,
  cpuOf,
  createDatabase,
  databaseBackends,
  dropDatabase,
  fmt,
  loadAverage,
  machineBusyMs,
  now,
  numberEnv,
  servicePids,
  sleep,
  startChild,
  summary,
  table,
  waitForQuiet,
  type Child,
} from "./lib.ts";
import { BOARD_ACTIVITY, BOARD_ACTIVITY_PLAIN, openSubscription, parseNext } from "./ws-client.ts";

const EVENTS = numberEnv("BENCH_EVENTS", 1000);
const ROUNDS = numberEnv("BENCH_ROUNDS", 2);
const WARMUP = numberEnv("BENCH_WARMUP_EVENTS", 50);
const GAP_MS = numberEnv("BENCH_GAP_MS", 5);
const EVENT_TIMEOUT_MS = numberEnv("BENCH_EVENT_TIMEOUT_MS", 5_000);
const QUIET_WAIT = numberEnv("BENCH_QUIET_WAIT", 60);
const QUIET_CORES = numberEnv("BENCH_QUIET_CORES", 0.25);
/** Wait for each event before the next mutation (unloaded latency); 0 = next mutation right after the response + gap. */
const WAIT_EVENT = numberEnv("BENCH_WAIT_EVENT", 1) !== 0;
/** "item" (default): the cross-subgraph item selection; "plain": event fields only, no federated fetch at delivery. */
const SELECTION = process.env.BENCH_SELECTION ?? "item";
/**
 * "one" (default): subgraphs and gateway in one process (npm start's wiring); "split": the gateway in
 * a process of its own, as docker-compose runs it (the gateway's per-stage timings are then not taken).
 */
const TOPOLOGY = process.env.BENCH_TOPOLOGY === "split" ? "split" : "one";
const CONSUMER_OPTIONS = process.env.BENCH_BRIDGE_CONSUMER ? (JSON.parse(process.env.BENCH_BRIDGE_CONSUMER) as Record<string, unknown>) : undefined;
/** Write a V8 CPU profile of every child (subgraphs/stack, gateway, pipeline) into this directory. */
const CPU_PROF_DIR = process.env.BENCH_CPU_PROF_DIR;
const childArgv = (name: string) => ({ execArgv: CPU_PROF_DIR ? ["--cpu-prof", `--cpu-prof-dir=${CPU_PROF_DIR}`, `--cpu-prof-name=${name}.cpuprofile`] : [] });
const RELAY_OPTIONS = process.env.BENCH_RELAY_OPTIONS ? (JSON.parse(process.env.BENCH_RELAY_OPTIONS) as Record<string, number>) : undefined;

const database = `sunday_bench_subs_latency_${process.pid}`;
const prefix = `bench:subs-latency:${process.pid}:`;

const agent = new http.Agent({ keepAlive: true, maxSockets: 4 });
function post(url: string, token: string, body: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const request = http.request(
      `${url}/graphql`,
      { method: "POST", agent, headers: { "content-type": "application/json", authorization: `Bearer ${token}`, "content-length": Buffer.byteLength(body) } },
      (response) => {
        const chunks: Buffer[] = [];
        response.on("data", (chunk: Buffer) => chunks.push(chunk));
        response.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
        response.on("error", reject);
      },
    );
    request.on("error", reject);
    request.end(body);
  });
}

const UPDATE = `mutation BenchRename($input: UpdateItemInput!) { updateItem(input: $input) { id version } }`;

interface Sent {
  name: string;
  itemId: string;
  sentAt: number;
  respondedAt: number;
  receivedAt?: number;
  cursor?: string;
  eventId?: string;
  copies: number;
}

interface RoundResult {
  round: number;
  sent: number;
  received: number;
  lost: number;
  duplicates: number;
  errors: number;
  foreignBefore: number;
  waited: number;
  seconds: number;
  machineCores: number;
  /** Cores used by everything but our processes, PostgreSQL's backends of our database, Kafka and Redis (a lower bound of foreign load). */
  otherCores: number;
  cpu: Record<string, number>;
  total: ReturnType<typeof summary>;
  stages: { label: string; s: ReturnType<typeof summary> }[];
}

async function main() {
  const started = now();
  console.log(
    `subscription latency: ${EVENTS} events × ${ROUNDS} round(s), gap ${GAP_MS} ms, ${WAIT_EVENT ? "one event in flight" : "one mutation in flight"}, selection ${SELECTION === "plain" ? "event fields only (no item)" : "item { name assignees { name } board { name } }"}; load average ${loadAverage()}`,
  );
  if (CONSUMER_OPTIONS) console.log(`bridge consumer options (experiment): ${JSON.stringify(CONSUMER_OPTIONS)}`);
  if (RELAY_OPTIONS) console.log(`relay options (experiment): ${JSON.stringify(RELAY_OPTIONS)}`);
  const children: Child[] = [];
  const redis = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 });
  let socketClose: (() => void) | undefined;
  try {
    const databaseUrl = await createDatabase(database);
    await migrate(databaseUrl);
    const prisma = createPrisma({ url: databaseUrl, poolMax: 2 });
    // A unique seed prefix: the demo seed derives its ids from it, and every test database seeded
    // without one has the same board ids; their events reach our bridge through the shared topics.
    const seed = await seedDemo(prisma, { prefix: `bench${process.pid}` });
    await ensureKafka();
    console.log(`database ${database} seeded, Kafka up (${((now() - started) / 1000).toFixed(1)} s)`);

    const stack = await startChild(
      "stack",
      "stack.ts",
      {
        mode: TOPOLOGY === "split" ? "subgraphs" : "full",
        databaseUrl,
        signingSecret: BENCH_SIGNING_SECRET,
        jwt: BENCH_JWT,
        redisUrl: REDIS_URL,
        prefix,
        poolMax: 4,
      },
      childArgv("stack"),
    );
    children.push(stack);
    const pipeline = await startChild(
      "pipeline",
      "pipeline.ts",
      {
        databaseUrl,
        redisUrl: REDIS_URL,
        prefix,
        consumerOptions: CONSUMER_OPTIONS,
        relayOptions: RELAY_OPTIONS,
      },
      childArgv("pipeline"),
    );
    children.push(pipeline);
    const gatewayChild =
      TOPOLOGY === "split"
        ? await startChild("gateway", "gateway.ts", { signingSecret: BENCH_SIGNING_SECRET, jwt: BENCH_JWT, redisUrl: REDIS_URL, prefix, subgraphUrls: stack.info.subgraphUrls }, childArgv("gateway"))
        : null;
    if (gatewayChild) children.push(gatewayChild);
    const gatewayUrl = (gatewayChild ?? stack).info.gatewayUrl as string;
    console.log(
      `${TOPOLOGY === "split" ? `subgraphs (pid ${stack.pid}), gateway (pid ${gatewayChild?.pid})` : `stack (pid ${stack.pid})`} at ${gatewayUrl}, relay + bridge (pid ${pipeline.pid}) ready (${((now() - started) / 1000).toFixed(1)} s)`,
    );

    const acme = seed.organizations[0];
    const board = acme.boards[0];
    const mutator = await mintToken({ userId: acme.userIdsByRole.OWNER, organizationId: acme.id, role: "OWNER" }, BENCH_JWT);
    const subscriber = await mintToken({ userId: acme.userIdsByRole.MEMBER, organizationId: acme.id, role: "MEMBER" }, BENCH_JWT);
    const items = board.itemIds.slice(0, 10);
    const versions = new Map<string, number>();
    for (const item of await prisma.item.findMany({ where: { id: { in: items } }, select: { id: true, version: true } })) versions.set(item.id, item.version);

    const byName = new Map<string, Sent>();
    const waiters = new Map<string, () => void>();
    let foreignEvents = 0;
    let errors = 0;
    const live = await openSubscription({
      url: gatewayUrl,
      token: subscriber,
      query: SELECTION === "plain" ? BOARD_ACTIVITY_PLAIN : BOARD_ACTIVITY,
      variables: { boardId: board.id },
      onNext: (text, receivedAt) => {
        const next = parseNext(text);
        if (next.errors) {
          errors += 1;
          console.error(`subscription error: ${JSON.stringify(next.errors)}`);
        }
        const sent = next.name ? byName.get(next.name) : undefined;
        if (!sent) return void (foreignEvents += 1);
        sent.copies += 1;
        if (sent.copies > 1) return;
        sent.receivedAt = receivedAt;
        sent.cursor = next.cursor;
        sent.eventId = next.eventId;
        waiters.get(sent.name)?.();
      },
      onEnd: (why) => console.error(`subscription ended: ${why}`),
    });
    socketClose = live.close;

    let sequence = 0;
    async function change(name: string): Promise<Sent> {
      const itemId = items[sequence++ % items.length]!;
      const body = JSON.stringify({ query: UPDATE, variables: { input: { id: itemId, expectedVersion: versions.get(itemId), name } } });
      const sent: Sent = { name, itemId, sentAt: 0, respondedAt: 0, copies: 0 };
      byName.set(name, sent);
      const arrived = new Promise<void>((resolve) => waiters.set(name, resolve));
      sent.sentAt = now();
      const text = await post(gatewayUrl, mutator, body);
      sent.respondedAt = now();
      const answer = JSON.parse(text) as { data?: { updateItem?: { version: number } }; errors?: unknown };
      if (!answer.data?.updateItem) throw new Error(`updateItem failed: ${text}`);
      versions.set(itemId, answer.data.updateItem.version);
      if (WAIT_EVENT) await Promise.race([arrived, sleep(EVENT_TIMEOUT_MS)]);
      waiters.delete(name);
      if (GAP_MS > 0) await sleep(GAP_MS);
      return sent;
    }

    // Warm-up: the tail starts, plans and connections are made, JIT warms; discarded.
    const warm: Sent[] = [];
    for (let i = 0; i < WARMUP; i += 1) warm.push(await change(`warm-${i}`));
    await sleep(500);
    console.log(
      `warm-up: ${warm.filter((sent) => sent.receivedAt).length}/${WARMUP} events received; p50 ${fmt(summary(warm.filter((s) => s.receivedAt).map((s) => s.receivedAt! - s.sentAt)).p50)} ms`,
    );
    if (!gatewayChild) await stack.request("timings");
    await pipeline.request("timings");

    const services = servicePids();
    const ours = () => ({
      stack: cpuOf([stack.pid]),
      ...(gatewayChild ? { gateway: cpuOf([gatewayChild.pid]) } : {}),
      pipeline: cpuOf([pipeline.pid]),
      client: (process.cpuUsage().user + process.cpuUsage().system) / 1000,
      postgres: cpuOf(databaseBackends(database)),
      kafka: cpuOf(services.kafka),
      redis: cpuOf(services.redis),
      machine: machineBusyMs(),
    });

    const results: RoundResult[] = [];
    for (let round = 1; round <= ROUNDS; round += 1) {
      const quiet = await waitForQuiet([stack.pid, pipeline.pid, ...(gatewayChild ? [gatewayChild.pid] : [])], database, QUIET_WAIT, QUIET_CORES);
      process.stdout.write(`round ${round}: other processes ${quiet.foreign.toFixed(2)} cores (waited ${quiet.waited.toFixed(0)} s), load average ${loadAverage()}; `);
      const cpu0 = ours();
      const t0 = now();
      const sent: Sent[] = [];
      for (let i = 0; i < EVENTS; i += 1) sent.push(await change(`lat-${process.pid}-${round}-${i}`));
      const deadline = now() + EVENT_TIMEOUT_MS;
      while (sent.some((s) => !s.receivedAt) && now() < deadline) await sleep(50);
      await sleep(300); // late duplicates
      const seconds = (now() - t0) / 1000;
      const cpu1 = ours();
      const cpu = Object.fromEntries(Object.keys(cpu0).map((key) => [key, (cpu1[key as keyof typeof cpu1] ?? 0) - (cpu0[key as keyof typeof cpu0] ?? 0)]));

      const eventIds = sent.flatMap((s) => (s.eventId ? [s.eventId] : []));
      const relayTimes = await pipeline.request<Record<string, { publishStart?: number; publishEnd?: number; bridgeReceived?: number }>>("timings", { ids: eventIds });
      const gatewayTimes = gatewayChild ? {} : await stack.request<Record<string, { woke: number; read: number }>>("timings");
      const outbox = new Map(
        (
          await prisma.$queryRawUnsafe<{ id: string; createdAt: Date; publishedAt: Date | null }[]>(
            `SELECT id::text AS id, "createdAt", "publishedAt" FROM events."OutboxEvent" WHERE id = ANY($1::uuid[])`,
            eventIds,
          )
        ).map((row) => [row.id, row]),
      );

      const received = sent.filter((s) => s.receivedAt !== undefined);
      const stageValues: Record<string, number[]> = {};
      const add = (label: string, value: number | undefined) => {
        if (value === undefined || !Number.isFinite(value)) return;
        (stageValues[label] ??= []).push(value);
      };
      for (const s of received) {
        const relay = s.eventId ? relayTimes[s.eventId] : undefined;
        const gateway = s.cursor ? gatewayTimes[s.cursor] : undefined;
        const entryMs = s.cursor ? Number(s.cursor.split("-")[0]) : undefined;
        const row = s.eventId ? outbox.get(s.eventId) : undefined;
        add("1 mutation round trip (sent -> response; outbox row committed)", s.respondedAt - s.sentAt);
        add("   outbox row createdAt (mutation transaction start) - sent  [PG clock, ms]", row ? row.createdAt.getTime() - s.sentAt : undefined);
        add("2 sent -> relay hands the row to Kafka (commit, NOTIFY, relay claim)", relay?.publishStart !== undefined ? relay.publishStart - s.sentAt : undefined);
        add("   relay claim transaction start (publishedAt) - createdAt  [PG clock, ms]", row?.publishedAt ? row.publishedAt.getTime() - row.createdAt.getTime() : undefined);
        add("3 relay publish: producer.sendBatch until acks=all", relay?.publishStart !== undefined && relay.publishEnd !== undefined ? relay.publishEnd - relay.publishStart : undefined);
        add("4 Kafka ack -> bridge consumer has the message (fetch)", relay?.publishEnd !== undefined && relay.bridgeReceived !== undefined ? relay.bridgeReceived - relay.publishEnd : undefined);
        add("5 bridge received -> Redis XADD (stream entry id ms)  [Redis clock, ms]", relay?.bridgeReceived !== undefined && entryMs !== undefined ? entryMs - relay.bridgeReceived : undefined);
        add("6 Redis XADD -> gateway read the entry (pub/sub wake, XRANGE)", gateway && entryMs !== undefined ? gateway.read - entryMs : undefined);
        add("   of which wake-up -> entry read (XRANGE)", gateway && Number.isFinite(gateway.woke) ? gateway.read - gateway.woke : undefined);
        add("7 gateway read -> subscriber received (access check, federated payload, ws)", gateway ? s.receivedAt! - gateway.read : undefined);
        add("   bridge received -> subscriber received (5+6+7)", relay?.bridgeReceived !== undefined ? s.receivedAt! - relay.bridgeReceived : undefined);
      }
      const result: RoundResult = {
        round,
        sent: sent.length,
        received: received.length,
        lost: sent.length - received.length,
        duplicates: sent.reduce((sum, s) => sum + Math.max(0, s.copies - 1), 0),
        errors,
        foreignBefore: quiet.foreign,
        waited: quiet.waited,
        seconds,
        machineCores: cpu.machine! / (seconds * 1000),
        otherCores: Math.max(0, cpu.machine! - Object.entries(cpu).reduce((sum, [key, value]) => (key === "machine" ? sum : sum + value), 0)) / (seconds * 1000),
        cpu,
        total: summary(received.map((s) => s.receivedAt! - s.sentAt)),
        stages: Object.entries(stageValues).map(([label, values]) => ({ label, s: summary(values) })),
      };
      results.push(result);
      console.log(`p50 ${fmt(result.total.p50)} ms, p99 ${fmt(result.total.p99)} ms, max ${fmt(result.total.max)} ms, lost ${result.lost}, duplicates ${result.duplicates}`);
      byName.clear();
    }
    if (foreignEvents > 0) console.log(`(${foreignEvents} events of the board not sent by this run were ignored)`);

    // ───────────── report ─────────────
    console.log(`\n## Subscription latency: mutation sent -> event received (${EVENTS} events per round)\n`);
    console.log(
      table(
        [
          "round",
          "events",
          "p50 ms",
          "p90 ms",
          "p99 ms",
          "max ms",
          "mean ms",
          "lost",
          "duplicates",
          "errors",
          "other load before (cores)",
          "other load during (cores)",
          "machine busy during (cores)",
          "seconds",
        ],
        results.map((r) => [
          String(r.round),
          `${r.received}/${r.sent}`,
          fmt(r.total.p50),
          fmt(r.total.p90),
          fmt(r.total.p99),
          fmt(r.total.max),
          fmt(r.total.mean),
          String(r.lost),
          String(r.duplicates),
          String(r.errors),
          fmt(r.foreignBefore, 2),
          fmt(r.otherCores, 2),
          fmt(r.machineCores, 2),
          fmt(r.seconds, 1),
        ]),
      ),
    );
    for (const r of results) {
      console.log(`\n### Round ${r.round}: where the time goes (ms per event)\n`);
      console.log(
        table(
          ["stage", "p50", "p90", "p99", "max", "mean"],
          r.stages.map(({ label, s }) => [label, fmt(s.p50), fmt(s.p90), fmt(s.p99), fmt(s.max), fmt(s.mean)]),
        ),
      );
      console.log(
        `\nCPU ms per event: ${Object.entries(r.cpu)
          .filter(([k]) => k !== "machine")
          .map(([k, v]) => `${k} ${fmt(v / r.sent, 2)}`)
          .join(", ")}; whole machine ${fmt(r.cpu.machine! / r.sent, 2)} (kafka and redis are shared with other sessions)`,
      );
    }
    const ok = results.every((r) => r.lost === 0 && r.duplicates === 0 && r.errors === 0);
    if (!ok) process.exitCode = 1;
    await prisma.$disconnect();
  } finally {
    socketClose?.();
    for (const child of children.reverse()) await child.stop().catch((error: unknown) => console.error(error));
    const keys = await redis.keys(`${prefix}*`);
    for (let i = 0; i < keys.length; i += 500) await redis.del(...keys.slice(i, i + 500));
    redis.disconnect();
    await dropDatabase(database).catch((error: unknown) => console.error(`dropping ${database} failed`, error));
    agent.destroy();
    console.log(`\ncleaned up: ${database} dropped, Redis keys ${prefix}* deleted, children stopped (${((now() - started) / 1000).toFixed(0)} s in all)`);
  }
}

await main();
