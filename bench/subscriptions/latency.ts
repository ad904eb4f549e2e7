// Subscription latency through the real stack: mutation sent -> event received by a graphql-ws
// subscriber, per event, through PostgreSQL (outbox), the outbox relay, Kafka, the bridge, Redis
// Streams and the gateway. Prints p50/p99/max, lost/duplicate counts and a per-stage breakdown.
//
//   node bench/subscriptions/latency.ts
//   BENCH_BASE_REF=dd70ea3 node bench/subscriptions/latency.ts   # A/B: that commit vs the working tree
//
// Processes: this one (the subscriber and the mutation client), children/stack.ts (four subgraphs
// and the gateway with subscriptions), children/pipeline.ts (outbox relay and bridge). PostgreSQL
// (127.0.0.1:5432), Kafka (started from infra/kafka when nothing answers) and Redis (127.0.0.1:6379)
// are the machine's. A fresh database is created, migrated and seeded, and dropped at the end;
// Redis keys live under a unique prefix and are deleted.
//
// BENCH_BASE_REF=<git ref>: a second variant, `base`, runs from a read-only snapshot of that commit
// (`git archive` into a temporary directory, the root node_modules linked, its own Prisma client
// generated): its own database, migrated and seeded by the snapshot's prisma/tools/migrate.ts and
// prisma/seed.ts (imported by children/setup.ts, one process per variant), its own Redis prefix,
// its own children (the snapshot's children/*.ts), its own subscriber and mutation client. Both variants' processes run all along; one is driven at a time,
// rounds interleaved (round 1 base, round 1 ours, round 2 base, …), then an A/B summary.
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, symlinkSync } from "node:fs";
import http from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { Redis } from "./redis.ts";
import pg from "pg";
import type { SetupInfo } from "./children/setup.ts";
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
  median,
  now,
  numberEnv,
  servicePids,
  sleep,
  startChild,
  summary,
  table,
  waitForQuiet,
  type Child,
  postGraphQL,
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
/** A/B: also run `base`, the code of this git ref (a snapshot; the repository is only read). */
const BASE_REF = process.env.BENCH_BASE_REF || undefined;

/** The repository root (the working tree: `ours`). */
const ROOT = fileURLToPath(new URL("../../", import.meta.url));

const git = (...args: string[]) => execFileSync("git", ["-C", ROOT, ...args], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] }).trim();

/** A read-only snapshot of a commit (`git archive`) under `work`, runnable like the working tree (as bench/gateway/run.ts does). */
function extractRef(ref: string, work: string): { sha: string; dir: string } {
  const sha = git("rev-parse", "--short", `${ref}^{commit}`);
  const dir = join(work, `source-${sha}`);
  mkdirSync(dir);
  execFileSync("sh", ["-c", `git -C "${ROOT}" archive "${sha}" | tar -x -C "${dir}"`]);
  symlinkSync(join(ROOT, "node_modules"), join(dir, "node_modules"));
  // The Prisma client must match that commit's schema.
  execFileSync(process.execPath, ["prisma/tools/generate.ts", "--force"], { cwd: dir, stdio: ["ignore", "pipe", "pipe"] });
  return { sha, dir };
}

const agent = new http.Agent({ keepAlive: true, maxSockets: 4 });
const post = async (url: string, token: string, body: string): Promise<string> => (await postGraphQL(agent, url, token, body)).text;

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

const STAGE_MUTATION = "1 mutation round trip (sent -> response; outbox row committed)";
const STAGE_BRIDGE_TO_SUBSCRIBER = "   bridge received -> subscriber received (5+6+7)";

type VariantKey = "ours" | "base";

/** What is measured: the working tree (`ours`), or the snapshot of BENCH_BASE_REF (`base`). */
interface Variant {
  readonly key: VariantKey;
  /** What code it runs, for the report. */
  readonly label: string;
  /** The root of its code. */
  readonly root: string;
  /** Where its children come from: undefined = ours (next to lib.ts). */
  readonly childRoot: string | undefined;
  readonly database: string;
  readonly prefix: string;
  readonly seedPrefix: string;
  readonly children: Child[];
  readonly results: RoundResult[];
  /** A connection to its database (the outbox rows' times). */
  db?: pg.Client;
  closeSocket?: () => void;
  running?: Running;
}

/** A variant's processes, subscriber and mutation client once started. */
interface Running {
  readonly stack: Child;
  readonly pipeline: Child;
  readonly gateway: Child | null;
  readonly gatewayUrl: string;
  readonly db: pg.Client;
  readonly pids: number[];
  readonly byName: Map<string, Sent>;
  /** Events of the board this variant did not send; errors in `next` messages (since the start). */
  readonly counts: { foreignEvents: number; errors: number };
  change(name: string): Promise<Sent>;
}

function newVariant(key: VariantKey, label: string, root: string): Variant {
  const suffix = key === "ours" ? "" : `_${key}`;
  return {
    key,
    label,
    root,
    childRoot: key === "ours" ? undefined : root,
    database: `sunday_bench_subs_latency_${process.pid}${suffix}`,
    prefix: key === "ours" ? `bench:subs-latency:${process.pid}:` : `bench:subs-latency:${process.pid}-${key}:`,
    // A unique seed prefix: the demo seed derives its ids from it, and every test database seeded
    // without one has the same board ids; their events reach our bridge through the shared topics.
    seedPrefix: `bench${process.pid}${key === "ours" ? "" : key}`,
    children: [],
    results: [],
  };
}

/** Creates, migrates and seeds the variant's database with its own code; starts its children, subscriber and mutation client. */
async function startVariant(variant: Variant, tag: string, started: number): Promise<Running> {
  const databaseUrl = await createDatabase(variant.database);
  // Migrated, seeded and its tokens minted by its own code, in a process of its own (children/setup.ts).
  const setup = await startChild(`${variant.key}-setup`, "setup.ts", { root: variant.root, databaseUrl, seedPrefix: variant.seedPrefix, jwt: BENCH_JWT, items: 10 });
  await setup.stop();
  const { applied, boardId, mutatorToken: mutator, subscriberToken: subscriber, items: seeded } = setup.info as unknown as SetupInfo;
  const db = new pg.Client({ connectionString: databaseUrl });
  variant.db = db;
  await db.connect();
  await ensureKafka();
  console.log(`${tag}database ${variant.database} migrated (${applied.length} migrations) and seeded, Kafka up (${((now() - started) / 1000).toFixed(1)} s)`);

  const profileName = (name: string) => (variant.key === "ours" ? name : `${variant.key}-${name}`);
  const child = async (name: string, script: string, config: unknown) => {
    const launched = await startChild(profileName(name), script, config, { ...childArgv(profileName(name)), root: variant.childRoot });
    variant.children.push(launched);
    return launched;
  };
  const stack = await child("stack", "stack.ts", {
    mode: TOPOLOGY === "split" ? "subgraphs" : "full",
    databaseUrl,
    signingSecret: BENCH_SIGNING_SECRET,
    jwt: BENCH_JWT,
    redisUrl: REDIS_URL,
    prefix: variant.prefix,
    poolMax: 4,
  });
  const pipeline = await child("pipeline", "pipeline.ts", {
    databaseUrl,
    redisUrl: REDIS_URL,
    prefix: variant.prefix,
    consumerOptions: CONSUMER_OPTIONS,
    relayOptions: RELAY_OPTIONS,
  });
  const gatewayChild =
    TOPOLOGY === "split"
      ? await child("gateway", "gateway.ts", { signingSecret: BENCH_SIGNING_SECRET, jwt: BENCH_JWT, redisUrl: REDIS_URL, prefix: variant.prefix, subgraphUrls: stack.info.subgraphUrls })
      : null;
  const gatewayUrl = (gatewayChild ?? stack).info.gatewayUrl as string;
  console.log(
    `${tag}${TOPOLOGY === "split" ? `subgraphs (pid ${stack.pid}), gateway (pid ${gatewayChild?.pid})` : `stack (pid ${stack.pid})`} at ${gatewayUrl}, relay + bridge (pid ${pipeline.pid}) ready (${((now() - started) / 1000).toFixed(1)} s)`,
  );

  const items = seeded.map((item) => item.id);
  const versions = new Map(seeded.map((item) => [item.id, item.version]));

  const byName = new Map<string, Sent>();
  const waiters = new Map<string, () => void>();
  const counts = { foreignEvents: 0, errors: 0 };
  const live = await openSubscription({
    url: gatewayUrl,
    token: subscriber,
    query: SELECTION === "plain" ? BOARD_ACTIVITY_PLAIN : BOARD_ACTIVITY,
    variables: { boardId },
    onNext: (text, receivedAt) => {
      const next = parseNext(text);
      if (next.errors) {
        counts.errors += 1;
        console.error(`${tag}subscription error: ${JSON.stringify(next.errors)}`);
      }
      const sent = next.name ? byName.get(next.name) : undefined;
      if (!sent) return void (counts.foreignEvents += 1);
      sent.copies += 1;
      if (sent.copies > 1) return;
      sent.receivedAt = receivedAt;
      sent.cursor = next.cursor;
      sent.eventId = next.eventId;
      waiters.get(sent.name)?.();
    },
    onEnd: (why) => console.error(`${tag}subscription ended: ${why}`),
  });
  variant.closeSocket = live.close;

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
    if (!answer.data?.updateItem) throw new Error(`${tag}updateItem failed: ${text}`);
    versions.set(itemId, answer.data.updateItem.version);
    if (WAIT_EVENT) await Promise.race([arrived, sleep(EVENT_TIMEOUT_MS)]);
    waiters.delete(name);
    if (GAP_MS > 0) await sleep(GAP_MS);
    return sent;
  }

  const pids = [stack.pid, pipeline.pid, ...(gatewayChild ? [gatewayChild.pid] : [])];
  return { stack, pipeline, gateway: gatewayChild, gatewayUrl, db, pids, byName, counts, change };
}

/** Warm-up: the tail starts, plans and connections are made, JIT warms; discarded. */
async function warmUp(running: Running, tag: string): Promise<void> {
  const warm: Sent[] = [];
  for (let i = 0; i < WARMUP; i += 1) warm.push(await running.change(`warm-${i}`));
  await sleep(500);
  console.log(
    `${tag}warm-up: ${warm.filter((sent) => sent.receivedAt).length}/${WARMUP} events received; p50 ${fmt(summary(warm.filter((s) => s.receivedAt).map((s) => s.receivedAt! - s.sentAt)).p50)} ms`,
  );
  running.byName.clear();
}

/** One measured round of a variant; the other variants' processes idle meanwhile (their CPU is shown apart). */
async function runRound(variant: Variant, round: number, variants: readonly Variant[], label: string): Promise<RoundResult> {
  const running = variant.running!;
  const { stack, pipeline, gateway: gatewayChild, db, byName } = running;
  const others = variants.filter((other) => other !== variant);
  const services = servicePids();
  const cpuNow = () => ({
    stack: cpuOf([stack.pid]),
    ...(gatewayChild ? { gateway: cpuOf([gatewayChild.pid]) } : {}),
    pipeline: cpuOf([pipeline.pid]),
    client: (process.cpuUsage().user + process.cpuUsage().system) / 1000,
    postgres: cpuOf(databaseBackends(variant.database)),
    kafka: cpuOf(services.kafka),
    redis: cpuOf(services.redis),
    // The idle variant's processes (its bridge also reads this variant's events from the shared topics). Not
    // its PostgreSQL backends: idle pool connections close meanwhile, and a gone backend's CPU would count negative.
    ...(others.length > 0 ? { "other variant (idle)": cpuOf(others.flatMap((other) => other.running?.pids ?? [])) } : {}),
    machine: machineBusyMs(),
  });

  const quiet = await waitForQuiet(
    variants.flatMap((each) => each.running?.pids ?? []),
    variants.map((each) => each.database),
    QUIET_WAIT,
    QUIET_CORES,
  );
  process.stdout.write(`${label}: other processes ${quiet.foreign.toFixed(2)} cores (waited ${quiet.waited.toFixed(0)} s), load average ${loadAverage()}; `);
  const cpu0 = cpuNow();
  const t0 = now();
  const sent: Sent[] = [];
  const namePrefix = variant.key === "ours" ? `lat-${process.pid}` : `lat-${process.pid}-${variant.key}`;
  for (let i = 0; i < EVENTS; i += 1) sent.push(await running.change(`${namePrefix}-${round}-${i}`));
  const deadline = now() + EVENT_TIMEOUT_MS;
  while (sent.some((s) => !s.receivedAt) && now() < deadline) await sleep(50);
  await sleep(300); // late duplicates
  const seconds = (now() - t0) / 1000;
  const cpu1 = cpuNow();
  const cpu = Object.fromEntries(Object.keys(cpu0).map((key) => [key, (cpu1[key as keyof typeof cpu1] ?? 0) - (cpu0[key as keyof typeof cpu0] ?? 0)]));

  const eventIds = sent.flatMap((s) => (s.eventId ? [s.eventId] : []));
  const relayTimes = await pipeline.request<Record<string, { publishStart?: number; publishEnd?: number; bridgeReceived?: number }>>("timings", { ids: eventIds });
  const gatewayTimes = gatewayChild ? {} : await stack.request<Record<string, { woke: number; read: number }>>("timings");
  const outbox = new Map(
    (
      await db.query<{ id: string; createdAt: Date; publishedAt: Date | null }>(`SELECT id::text AS id, "createdAt", "publishedAt" FROM events."OutboxEvent" WHERE id = ANY($1::uuid[])`, [eventIds])
    ).rows.map((row) => [row.id, row]),
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
    add(STAGE_MUTATION, s.respondedAt - s.sentAt);
    add("   outbox row createdAt (mutation transaction start) - sent  [PG clock, ms]", row ? row.createdAt.getTime() - s.sentAt : undefined);
    add("2 sent -> relay hands the row to Kafka (commit, NOTIFY, relay claim)", relay?.publishStart !== undefined ? relay.publishStart - s.sentAt : undefined);
    add("   relay claim transaction start (publishedAt) - createdAt  [PG clock, ms]", row?.publishedAt ? row.publishedAt.getTime() - row.createdAt.getTime() : undefined);
    add("3 relay publish: producer.sendBatch until acks=all", relay?.publishStart !== undefined && relay.publishEnd !== undefined ? relay.publishEnd - relay.publishStart : undefined);
    add("4 Kafka ack -> bridge consumer has the message (fetch)", relay?.publishEnd !== undefined && relay.bridgeReceived !== undefined ? relay.bridgeReceived - relay.publishEnd : undefined);
    add("5 bridge received -> Redis XADD (stream entry id ms)  [Redis clock, ms]", relay?.bridgeReceived !== undefined && entryMs !== undefined ? entryMs - relay.bridgeReceived : undefined);
    add("6 Redis XADD -> gateway read the entry (pub/sub wake, XRANGE)", gateway && entryMs !== undefined ? gateway.read - entryMs : undefined);
    add("   of which wake-up -> entry read (XRANGE)", gateway && Number.isFinite(gateway.woke) ? gateway.read - gateway.woke : undefined);
    add("7 gateway read -> subscriber received (access check, federated payload, ws)", gateway ? s.receivedAt! - gateway.read : undefined);
    add(STAGE_BRIDGE_TO_SUBSCRIBER, relay?.bridgeReceived !== undefined ? s.receivedAt! - relay.bridgeReceived : undefined);
  }
  const result: RoundResult = {
    round,
    sent: sent.length,
    received: received.length,
    lost: sent.length - received.length,
    duplicates: sent.reduce((sum, s) => sum + Math.max(0, s.copies - 1), 0),
    errors: running.counts.errors,
    foreignBefore: quiet.foreign,
    waited: quiet.waited,
    seconds,
    machineCores: cpu.machine! / (seconds * 1000),
    otherCores: Math.max(0, cpu.machine! - Object.entries(cpu).reduce((sum, [key, value]) => (key === "machine" ? sum : sum + value), 0)) / (seconds * 1000),
    cpu,
    total: summary(received.map((s) => s.receivedAt! - s.sentAt)),
    stages: Object.entries(stageValues).map(([label, values]) => ({ label, s: summary(values) })),
  };
  console.log(`p50 ${fmt(result.total.p50)} ms, p99 ${fmt(result.total.p99)} ms, max ${fmt(result.total.max)} ms, lost ${result.lost}, duplicates ${result.duplicates}`);
  byName.clear();
  return result;
}

/** The per-round tables of one variant (as before the A/B mode; headed with the variant when there are two). */
function reportRounds(variant: Variant, labelled: boolean): void {
  const results = variant.results;
  const which = labelled ? `, ${variant.key} = ${variant.label}` : "";
  console.log(`\n## Subscription latency${which}: mutation sent -> event received (${EVENTS} events per round)\n`);
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
    console.log(`\n### ${labelled ? `${variant.key}, round` : "Round"} ${r.round}: where the time goes (ms per event)\n`);
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
}

/** A variant's headline figures: medians over its rounds. */
function headline(results: readonly RoundResult[]) {
  const stageP50 = (r: RoundResult, label: string) => r.stages.find((stage) => stage.label === label)?.s.p50 ?? NaN;
  return {
    eventP50: median(results.map((r) => r.total.p50)),
    eventP99: median(results.map((r) => r.total.p99)),
    mutationP50: median(results.map((r) => stageP50(r, STAGE_MUTATION))),
    bridgeToSubscriberP50: median(results.map((r) => stageP50(r, STAGE_BRIDGE_TO_SUBSCRIBER))),
    /** Our processes only: stack (subgraphs, and the gateway in topology "one") + gateway + pipeline. */
    cpuPerEvent: median(results.map((r) => ((r.cpu.stack ?? 0) + (r.cpu.gateway ?? 0) + (r.cpu.pipeline ?? 0)) / r.sent)),
  };
}
type Headline = ReturnType<typeof headline>;

const HEADLINE_ROWS: { label: string; value: (h: Headline) => number; digits?: number }[] = [
  { label: "mutation sent -> event received p50 (ms)", value: (h) => h.eventP50 },
  { label: "mutation sent -> event received p99 (ms)", value: (h) => h.eventP99 },
  { label: "mutation round trip p50 (ms)", value: (h) => h.mutationP50 },
  { label: "bridge received -> subscriber received p50 (ms)", value: (h) => h.bridgeToSubscriberP50 },
  { label: "CPU ms per event, stack + gateway + pipeline", value: (h) => h.cpuPerEvent, digits: 2 },
];

const TARGETS: { label: string; value: (h: Headline) => number; limit: number; digits?: number }[] = [
  { label: "mutation round trip p50 <= 8 ms", value: (h) => h.mutationP50, limit: 8 },
  { label: "event p50 <= 15 ms", value: (h) => h.eventP50, limit: 15 },
  { label: "event p99 <= 50 ms", value: (h) => h.eventP99, limit: 50 },
  { label: "CPU per event (stack+gateway+pipeline) <= 10 ms", value: (h) => h.cpuPerEvent, limit: 10, digits: 2 },
];

function reportSummary(variants: readonly Variant[]): void {
  const ours = variants.find((variant) => variant.key === "ours")!;
  const base = variants.find((variant) => variant.key === "base");
  const figures = new Map(variants.map((variant) => [variant.key, headline(variant.results)]));
  if (base) {
    console.log(`\n## A/B: base = ${base.label}; ours = ${ours.label} (medians over ${ROUNDS} round(s), interleaved)\n`);
    console.log(
      table(
        ["median over rounds", "base", "ours", "ours/base"],
        HEADLINE_ROWS.map(({ label, value, digits }) => {
          const a = value(figures.get("base")!);
          const b = value(figures.get("ours")!);
          return [label, fmt(a, digits), fmt(b, digits), Number.isFinite(a) && Number.isFinite(b) && a > 0 ? `${(b / a).toFixed(2)}×` : "–"];
        }),
      ),
    );
  }
  const shown = base ? [ours, base] : [ours];
  console.log(`\n## Targets (medians over ${ROUNDS} round(s))\n`);
  console.log(
    table(
      ["target", ...shown.flatMap((variant) => [variant.key, `${variant.key}: met?`])],
      TARGETS.map(({ label, value, limit, digits }) => [
        label,
        ...shown.flatMap((variant) => {
          const measured = value(figures.get(variant.key)!);
          return [fmt(measured, digits), measured <= limit ? "met" : "not met"];
        }),
      ]),
    ),
  );
}

async function main() {
  const started = now();
  console.log(
    `subscription latency: ${EVENTS} events × ${ROUNDS} round(s), gap ${GAP_MS} ms, ${WAIT_EVENT ? "one event in flight" : "one mutation in flight"}, selection ${SELECTION === "plain" ? "event fields only (no item)" : "item { name assignees { name } board { name } }"}; load average ${loadAverage()}`,
  );
  if (CONSUMER_OPTIONS) console.log(`bridge consumer options (experiment): ${JSON.stringify(CONSUMER_OPTIONS)}`);
  if (RELAY_OPTIONS) console.log(`relay options (experiment): ${JSON.stringify(RELAY_OPTIONS)}`);
  const variants: Variant[] = [];
  const redis = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 });
  const work = BASE_REF ? mkdtempSync(join(tmpdir(), "sunday-bench-subs-")) : undefined;
  try {
    let head = "?";
    try {
      head = git("rev-parse", "--short", "HEAD");
    } catch {
      // not a git checkout
    }
    const ours = newVariant("ours", `working tree (HEAD ${head})`, ROOT);
    if (BASE_REF && work) {
      const { sha, dir } = extractRef(BASE_REF, work);
      variants.push(newVariant("base", `git ${BASE_REF} (${sha})`, dir));
      console.log(`A/B: base = git ${BASE_REF} (${sha}), snapshot in ${dir} (Prisma client generated); ours = ${ours.label} (${((now() - started) / 1000).toFixed(1)} s)`);
    }
    variants.push(ours); // base first: each round drives base, then ours
    const tagOf = (variant: Variant) => (variants.length > 1 ? `[${variant.key}] ` : "");

    for (const variant of variants) variant.running = await startVariant(variant, tagOf(variant), started);
    for (const variant of variants) await warmUp(variant.running!, tagOf(variant));
    // Timings taken so far (warm-up, and the other variant's events its bridge also reads) are dropped.
    for (const { running } of variants) {
      if (!running!.gateway) await running!.stack.request("timings");
      await running!.pipeline.request("timings");
    }

    for (let round = 1; round <= ROUNDS; round += 1) {
      for (const variant of variants) {
        variant.results.push(await runRound(variant, round, variants, variants.length > 1 ? `round ${round} ${variant.key}` : `round ${round}`));
      }
    }
    for (const variant of variants) {
      const { foreignEvents } = variant.running!.counts;
      if (foreignEvents > 0) console.log(`${tagOf(variant)}(${foreignEvents} events of the board not sent by this run were ignored)`);
    }

    // ───────────── report ─────────────
    for (const variant of variants) reportRounds(variant, variants.length > 1);
    reportSummary(variants);
    const ok = variants.every((variant) => variant.results.every((r) => r.lost === 0 && r.duplicates === 0 && r.errors === 0));
    if (!ok) process.exitCode = 1;
  } finally {
    for (const variant of variants) {
      variant.closeSocket?.();
      for (const child of [...variant.children].reverse()) await child.stop().catch((error: unknown) => console.error(error));
      await variant.db?.end().catch((error: unknown) => console.error(error));
      try {
        const keys = await redis.keys(`${variant.prefix}*`);
        for (let i = 0; i < keys.length; i += 500) await redis.del(...keys.slice(i, i + 500));
      } catch (error) {
        console.error(`deleting Redis keys ${variant.prefix}* failed`, error);
      }
      await dropDatabase(variant.database).catch((error: unknown) => console.error(`dropping ${variant.database} failed`, error));
    }
    redis.disconnect();
    agent.destroy();
    if (work) rmSync(work, { recursive: true, force: true });
    console.log(
      `\ncleaned up: ${[...variants.map((variant) => `${variant.database} dropped, Redis keys ${variant.prefix}* deleted`), ...(work ? [`${work} removed`] : [])].join("; ")}, children stopped (${((now() - started) / 1000).toFixed(0)} s in all)`,
    );
  }
}

await main();
