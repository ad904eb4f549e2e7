// Outgoing webhooks: one dispatcher (subgraphs/integrations/runtime/webhooks/dispatcher.ts) in this
// process against a fresh migrated PostgreSQL database and loopback receivers in a child process
// (receivers.ts). Prints figures; asserts no times.
//
//   node bench/webhooks/run.ts                         # all three runs (1–2 min)
//   BENCH_ONLY=throughput|latency|isolation node bench/webhooks/run.ts   (isolation brings run 2 along)
//
// Options (environment; bench/README.md "Webhooks" lists them all): BENCH_SECONDS, BENCH_RATE,
// BENCH_DISPATCHER (option overrides, JSON), BENCH_DISPATCHER_MODULE (another dispatcher.ts, for
// A/B), BENCH_HISTORY (old deliveries per webhook), BENCH_PG_SAMPLE, BENCH_QUIET_WAIT/_CORES.
//
//   1 throughput  1,000 webhooks over 10 organisations; a burst of 20 events × 100 webhooks each =
//                 2,000 deliveries; first handle() → last request received: deliveries/s.
//   2 latency     100 events/s for BENCH_SECONDS (20), each to an organisation of 1–5 webhooks
//                 (3 on average); per delivery, handle() called → receiver has the request.
//   3 isolation   the same load, 10 % of the endpoints dead (connection refused) and 10 % answering
//                 after 5 s; the healthy endpoints' latency, compared with run 2.
//
// The clock starts at the dispatcher's handle(), not at the event's commit: the outbox → relay →
// Kafka → consumer hop before it is not measured here. Every run gets its own dispatcher (one at
// a time), its own organisations and webhooks, and the retry schedule [1000, 2000] ms.
import { type ChildProcess, fork } from "node:child_process";
import { resolve } from "node:path";
import { type ELDHistogram, monitorEventLoopDelay } from "node:perf_hooks";
import { fileURLToPath, pathToFileURL } from "node:url";
import { pino } from "pino";
import type { DomainEvent } from "../../events/contracts/envelope.ts";
import { createPrisma, type PrismaClient } from "../../platform/db.ts";
import type { WebhookDispatcher, WebhookDispatcherOptions } from "../../subgraphs/integrations/runtime/webhooks/dispatcher.ts";
import type { ClaimedDelivery, RecordedAttempt } from "../../subgraphs/integrations/runtime/webhooks/queue.ts";
import { untilReady } from "../lib/child-ready.ts";
import { fmt, loadAverage, machineBusyMs, numberEnv, processCpuMs, sleep, summary, table } from "../subscriptions/lib.ts";
import { BackendCpu } from "./backend-cpu.ts";
import { type BenchDatabase, benchDatabase, deliveryHistory, type Endpoint, itemRenamed, type Organisation, WebhookRegistry } from "./fixtures.ts";
import { type PgSampler, samplePostgres } from "./pg-sampler.ts";
import { type FromReceivers, now, type Receipt, type ToReceivers } from "./protocol.ts";

const RUNS = ["throughput", "latency", "isolation"] as const;
type Run = (typeof RUNS)[number];
const ONLY = process.env.BENCH_ONLY;
if (ONLY !== undefined && ONLY !== "" && !RUNS.includes(ONLY as Run)) throw new Error(`BENCH_ONLY must be one of ${RUNS.join(", ")}, got ${ONLY}`);
const selected = (run: Run) => !ONLY || ONLY === run;

const SECONDS = numberEnv("BENCH_SECONDS", 20);
const RATE = numberEnv("BENCH_RATE", 100);
const BURST_WEBHOOKS = 1000;
const BURST_ORGANISATIONS = 10;
const BURST_DELIVERIES = numberEnv("BENCH_BURST_DELIVERIES", 2000);
/** Organisations of the steady runs: sizes 1, 2, 3, 4, 5, 1, 2, … (900 webhooks, 3 per event on average). */
const STEADY_ORGANISATIONS = 300;
const SLOW_MS = 5000;
const SCHEDULE = [1000, 2000] as const;
const POOL_MAX = numberEnv("BENCH_POOL_MAX", 10);
/** How long to wait for the last deliveries after the last event. */
const SETTLE_MS = numberEnv("BENCH_SETTLE_MS", 20_000);
/** Dispatcher options over the defaults, as JSON (experiments), e.g. '{"concurrency":256}'. */
const OVERRIDES = JSON.parse(process.env.BENCH_DISPATCHER ?? "{}") as Partial<WebhookDispatcherOptions>;
/**
 * Another dispatcher.ts to measure instead of the working tree's (A/B of a proposed change): a copy
 * of the webhooks folder with its relative imports resolvable (e.g. a `git archive` snapshot).
 */
const DISPATCHER_MODULE = process.env.BENCH_DISPATCHER_MODULE;
type DispatcherModule = typeof import("../../subgraphs/integrations/runtime/webhooks/dispatcher.ts");
const { createWebhookDispatcher }: DispatcherModule = DISPATCHER_MODULE
  ? await import(pathToFileURL(resolve(DISPATCHER_MODULE)).href)
  : await import("../../subgraphs/integrations/runtime/webhooks/dispatcher.ts");
/** Old SUCCEEDED deliveries per webhook, inserted (and ANALYZEd) after every run's webhooks exist; 0 = a fresh table. */
const HISTORY = numberEnv("BENCH_HISTORY", 0);
/** Before each run, wait up to this many seconds until other processes use fewer than BENCH_QUIET_CORES. */
const QUIET_WAIT = numberEnv("BENCH_QUIET_WAIT", 10);
const QUIET_CORES = numberEnv("BENCH_QUIET_CORES", 0.5);
/** Sample pg_stat_activity during each run and print what the backends were doing (costs some PostgreSQL CPU). */
const PG_SAMPLE = numberEnv("BENCH_PG_SAMPLE", 0) !== 0;

const TARGET_THROUGHPUT = 500;
const TARGET_P99_MS = 250;
const TARGET_P99_CHANGE = 0.2;

// ───────────────────────────── receivers ─────────────────────────────

interface Arrival {
  readonly webhook: number;
  readonly eventId: string;
  readonly latency: number;
  readonly receivedAt: number;
}

/** What the receivers saw during one run: first arrivals per (event, webhook), and repeats. */
class Arrivals {
  readonly first: Arrival[] = [];
  requests = 0;
  repeats = 0;
  private readonly seen = new Set<string>();
  private waiter: { count: number; filter: (arrival: Arrival) => boolean; resolve: () => void } | undefined;
  private counted = 0;

  add(receipt: Receipt): void {
    const [webhook, eventId, handledAt, receivedAt] = receipt;
    this.requests += 1;
    const key = `${eventId}:${webhook}`;
    if (this.seen.has(key)) {
      this.repeats += 1;
      return;
    }
    this.seen.add(key);
    const arrival = { webhook, eventId, latency: receivedAt - handledAt, receivedAt };
    this.first.push(arrival);
    if (this.waiter?.filter(arrival)) this.counted += 1;
    if (this.waiter && this.counted >= this.waiter.count) this.waiter.resolve();
  }

  /** Resolves true once `count` first arrivals pass `filter`, false after `timeoutMs`. */
  until(count: number, timeoutMs: number, filter: (arrival: Arrival) => boolean = () => true): Promise<boolean> {
    this.counted = this.first.filter(filter).length;
    if (this.counted >= count) return Promise.resolve(true);
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.waiter = undefined;
        resolve(false);
      }, timeoutMs);
      this.waiter = {
        count,
        filter,
        resolve: () => {
          clearTimeout(timer);
          this.waiter = undefined;
          resolve(true);
        },
      };
    });
  }
}

interface ReceiverProcess {
  readonly child: ChildProcess;
  readonly port: number;
  readonly deadPort: number;
  stop(): Promise<void>;
}

async function startReceivers(onReceipts: (receipts: readonly Receipt[]) => void): Promise<ReceiverProcess> {
  const child = fork(fileURLToPath(new URL("./receivers.ts", import.meta.url)), [], {
    env: { ...process.env, BENCH_RECEIVER_CONFIG: JSON.stringify({ slowMs: SLOW_MS }) },
    stdio: ["ignore", "inherit", "inherit", "ipc"],
  });
  child.on("message", (message: FromReceivers) => {
    if (message.type === "receipts") onReceipts(message.receipts);
  });
  const ready = await untilReady<Extract<FromReceivers, { type: "ready" }>>(child, "receivers", 30_000);
  return {
    child,
    port: ready.port,
    deadPort: ready.deadPort,
    async stop() {
      if (child.exitCode !== null) return;
      const gone = new Promise<void>((resolve) => child.once("exit", () => resolve()));
      child.send({ type: "stop" } satisfies ToReceivers);
      const timer = setTimeout(() => child.kill("SIGKILL"), 5_000);
      await gone;
      clearTimeout(timer);
    },
  };
}

// ───────────────────────────── accounting ─────────────────────────────

interface Meter {
  readonly at: number;
  readonly benchCpu: number;
  readonly postgresCpu: number;
  readonly receiverCpu: number;
  readonly machine: number;
  readonly statements: number;
  readonly attempts: number;
}

interface Usage {
  readonly seconds: number;
  readonly attempts: number;
  /** ms of CPU per attempt: this process (dispatcher, Prisma, event generation). */
  readonly benchCpu: number;
  /** ms of CPU per attempt: PostgreSQL backends of the benchmark database. */
  readonly postgresCpu: number;
  readonly receiverCpu: number;
  readonly statements: number;
  /** Cores used by processes other than ours (this one, the receivers, our database's backends) meanwhile. */
  readonly otherCores: number;
  /** This process's event-loop delay (ms): how late its callbacks ran. */
  readonly loopDelayP99: number;
  readonly loopDelayMax: number;
}

// ───────────────────────────── runs ─────────────────────────────

interface Result {
  readonly run: Run;
  readonly label: string;
  readonly deliveries: number;
  readonly expected: number;
  readonly repeats: number;
  readonly handleErrors: number;
  readonly seconds: number;
  readonly perSecond?: number;
  readonly latency?: ReturnType<typeof summary>;
  /** handle() called → resolved (enqueue: the webhook query and the insert). */
  readonly enqueue?: ReturnType<typeof summary>;
  readonly usage: Usage;
  /** Cores other processes used just before the run. */
  readonly otherBefore: number;
  readonly outcomes: Record<string, number>;
  readonly stages: readonly Stage[];
  readonly claims: { claims: number; perClaim: number };
}

interface Bench {
  readonly prisma: PrismaClient;
  readonly registry: WebhookRegistry;
  readonly database: BenchDatabase;
  readonly receivers: ReceiverProcess;
  readonly statements: () => number;
  readonly postgresCpu: BackendCpu;
  readonly loopDelay: ELDHistogram;
  /** Directs the receivers' reports to a fresh Arrivals. */
  listen(): Arrivals;
}

/** Starts the pg_stat_activity sampler when BENCH_PG_SAMPLE is set; `done` prints its findings. */
async function pgSample(bench: Bench): Promise<{ done(): Promise<void> }> {
  const sampler: PgSampler | undefined = PG_SAMPLE ? await samplePostgres(bench.database.url, bench.database.name) : undefined;
  return {
    async done() {
      if (!sampler) return;
      console.log(`   PostgreSQL backends of the benchmark database (pg_stat_activity every 5 ms):\n${(await sampler.stop()).map((line) => `     ${line}`).join("\n")}`);
    },
  };
}

/** What the dispatcher reported through onAttempt during one run. */
class Attempts {
  count = 0;
  readonly outcomes: Record<string, number> = {};
  /** First attempts by `${eventId}:${webhook}`: when claimed (lease start) and when recorded. */
  readonly firsts = new Map<string, { claimedAt: number; recordedAt: number }>();
  /** Distinct lease ends: one per claim that returned rows. */
  private readonly leases = new Set<number>();
  // The dispatcher's default lease (dispatcher.ts): a claim's start is its lease's end less this.
  private readonly lockMs = OVERRIDES.lockMs ?? 30_000;

  record(delivery: ClaimedDelivery, recorded: RecordedAttempt): void {
    this.count += 1;
    this.outcomes[recorded.outcome] = (this.outcomes[recorded.outcome] ?? 0) + 1;
    const until = delivery.lockedUntil.getTime();
    this.leases.add(until);
    if (recorded.attempt !== 1) return;
    const webhook = /\/(\d+)$/.exec(delivery.url)?.[1];
    this.firsts.set(`${delivery.eventId}:${webhook}`, { claimedAt: until - this.lockMs, recordedAt: now() });
  }

  /** Claims that leased rows, and rows leased per claim. */
  claims(): { claims: number; perClaim: number } {
    return { claims: this.leases.size, perClaim: this.count / Math.max(1, this.leases.size) };
  }

  /** Where each first delivery's time went, for `arrivals` (handle() → claimed → received → recorded). */
  stages(arrivals: readonly Arrival[]): Stage[] {
    const queued: number[] = [];
    const posted: number[] = [];
    const recorded: number[] = [];
    for (const arrival of arrivals) {
      const first = this.firsts.get(`${arrival.eventId}:${arrival.webhook}`);
      if (!first) continue;
      queued.push(first.claimedAt - (arrival.receivedAt - arrival.latency));
      posted.push(arrival.receivedAt - first.claimedAt);
      recorded.push(first.recordedAt - arrival.receivedAt);
    }
    return [
      { label: "handle() called → claim starts (enqueue, wait for a claim with room)", s: summary(queued) },
      { label: "claim starts → receiver has the request (the claim query, sign, POST)", s: summary(posted) },
      { label: "receiver has the request → attempt recorded (answer, recordAttempt transaction)", s: summary(recorded) },
    ];
  }
}

interface Stage {
  readonly label: string;
  readonly s: ReturnType<typeof summary>;
}

function dispatcherFor(bench: Bench, attempts: Attempts): WebhookDispatcher {
  return createWebhookDispatcher({
    prisma: bench.prisma,
    agent: { allowPrivate: true },
    schedule: SCHEDULE,
    logger: pino({ level: "silent" }),
    onAttempt: (delivery, recorded) => attempts.record(delivery, recorded),
    ...OVERRIDES,
  });
}

/** Starts a run's accounting (and its event-loop delay histogram). */
function meter(bench: Bench, attempts: Attempts, start = false): Meter {
  if (start) bench.loopDelay.reset();
  const cpu = process.cpuUsage();
  return {
    at: now(),
    benchCpu: (cpu.user + cpu.system) / 1000,
    postgresCpu: bench.postgresCpu.ms(),
    receiverCpu: bench.receivers.child.pid === undefined ? 0 : processCpuMs(bench.receivers.child.pid),
    machine: machineBusyMs(),
    statements: bench.statements(),
    attempts: attempts.count,
  };
}

function usageBetween(bench: Bench, start: Meter, end: Meter): Usage {
  const attempts = end.attempts - start.attempts;
  const per = (value: number) => value / Math.max(1, attempts);
  const ms = end.at - start.at;
  const ours = end.benchCpu - start.benchCpu + (end.postgresCpu - start.postgresCpu) + (end.receiverCpu - start.receiverCpu);
  return {
    seconds: ms / 1000,
    attempts,
    benchCpu: per(end.benchCpu - start.benchCpu),
    postgresCpu: per(end.postgresCpu - start.postgresCpu),
    receiverCpu: per(end.receiverCpu - start.receiverCpu),
    statements: per(end.statements - start.statements),
    otherCores: Math.max(0, end.machine - start.machine - ours) / ms,
    loopDelayP99: bench.loopDelay.percentile(99) / 1e6,
    loopDelayMax: bench.loopDelay.max / 1e6,
  };
}

/**
 * Leaves the queue empty for the next run: deletes what is still PENDING for `organisations` (a
 * run that fell behind leaves a backlog that would otherwise be the next run's) and disables their
 * webhooks. Returns how many deliveries were left undelivered.
 */
async function retire(bench: Bench, organisations: readonly Organisation[]): Promise<number> {
  const organizationId = { in: organisations.map((organisation) => organisation.id) };
  const { count } = await bench.prisma.webhookDelivery.deleteMany({ where: { status: "PENDING", organizationId } });
  await bench.prisma.webhook.updateMany({ where: { organizationId }, data: { enabled: false } });
  if (count > 0) console.log(`   ${count} deliveries still pending at the end of the run were deleted`);
  return count;
}

/** Cores used by processes not ours over the next second (our database's backends tracked across pool churn). */
async function foreignCores(bench: Bench): Promise<number> {
  const ours = () => {
    const cpu = process.cpuUsage();
    const receiver = bench.receivers.child.pid === undefined ? 0 : processCpuMs(bench.receivers.child.pid);
    return (cpu.user + cpu.system) / 1000 + receiver + bench.postgresCpu.ms();
  };
  const machine0 = machineBusyMs();
  const ours0 = ours();
  const at0 = performance.now();
  await sleep(1000);
  return Math.max(0, machineBusyMs() - machine0 - (ours() - ours0)) / (performance.now() - at0);
}

/** Waits (bounded) for a quieter machine: other sessions' test suites share these cores. */
async function quiet(bench: Bench): Promise<number> {
  const started = performance.now();
  let foreign = await foreignCores(bench);
  while (foreign > QUIET_CORES && performance.now() - started < QUIET_WAIT * 1000) foreign = await foreignCores(bench);
  console.log(`   other processes used ${fmt(foreign, 2)} cores before the run (waited ${fmt((performance.now() - started) / 1000, 0)} s)`);
  return foreign;
}

/** Calls handle() for `event` with data.handledAt = now, keeping when it resolved. */
function fire(dispatcher: WebhookDispatcher, build: (handledAt: number) => DomainEvent, enqueue: number[], errors: unknown[]): Promise<void> {
  const handledAt = now();
  return dispatcher.handle(build(handledAt)).then(
    () => void enqueue.push(now() - handledAt),
    (error: unknown) => void errors.push(error),
  );
}

/** A few hundred deliveries before anything is measured: connections, JIT, plans. */
async function warmUp(bench: Bench, organisation: Organisation): Promise<void> {
  const arrivals = bench.listen();
  const dispatcher = dispatcherFor(bench, new Attempts());
  const errors: unknown[] = [];
  try {
    await Promise.all(Array.from({ length: 6 }, (_, i) => fire(dispatcher, (at) => itemRenamed(organisation.id, i, at), [], errors)));
    const done = await arrivals.until(300, 30_000);
    console.log(`warm-up: ${arrivals.first.length}/300 deliveries${done ? "" : " (timed out)"}${errors.length ? `, ${errors.length} handle() errors` : ""}`);
  } finally {
    await dispatcher.close();
    await retire(bench, [organisation]);
  }
}

async function throughput(bench: Bench, organisations: readonly Organisation[]): Promise<Result> {
  const perOrganisation = BURST_WEBHOOKS / BURST_ORGANISATIONS;
  const eventsPerOrganisation = Math.max(1, Math.round(BURST_DELIVERIES / BURST_WEBHOOKS));
  const expected = BURST_ORGANISATIONS * perOrganisation * eventsPerOrganisation;
  const label = `${BURST_ORGANISATIONS * eventsPerOrganisation} events × ${perOrganisation} webhooks (${BURST_WEBHOOKS} webhooks over ${BURST_ORGANISATIONS} organisations), all handle() at once`;
  console.log(`\n1 throughput: ${label} = ${expected} deliveries`);
  const otherBefore = await quiet(bench);
  const attempts = new Attempts();
  const dispatcher = dispatcherFor(bench, attempts);
  const arrivals = bench.listen();
  const enqueue: number[] = [];
  const errors: unknown[] = [];
  const sampling = await pgSample(bench);
  try {
    const start = meter(bench, attempts, true);
    const handled = organisations.flatMap((organisation, o) =>
      Array.from({ length: eventsPerOrganisation }, (_, e) => fire(dispatcher, (at) => itemRenamed(organisation.id, o * 100 + e, at), enqueue, errors)),
    );
    await Promise.all(handled);
    const allEnqueued = now();
    const done = await arrivals.until(expected, 30_000);
    const last = arrivals.first.reduce((latest, arrival) => Math.max(latest, arrival.receivedAt), start.at);
    const received = now();
    while (attempts.count < arrivals.first.length && now() - received < 10_000) await sleep(20);
    const end = meter(bench, attempts);
    const seconds = (last - start.at) / 1000;
    const result: Result = {
      run: "throughput",
      label,
      deliveries: arrivals.first.length,
      expected,
      repeats: arrivals.repeats,
      handleErrors: errors.length,
      seconds,
      perSecond: arrivals.first.length / seconds,
      enqueue: summary(enqueue),
      usage: usageBetween(bench, start, end),
      otherBefore,
      outcomes: attempts.outcomes,
      stages: attempts.stages(arrivals.first),
      claims: attempts.claims(),
    };
    console.log(
      `   ${result.deliveries}/${expected} received${done ? "" : " (TIMED OUT)"} in ${fmt(seconds, 2)} s: ${fmt(result.perSecond ?? NaN, 0)} deliveries/s (target >= ${TARGET_THROUGHPUT}/s); ` +
        `all ${handled.length} handle() resolved after ${fmt(allEnqueued - start.at, 0)} ms; all attempts recorded after ${fmt((end.at - start.at) / 1000, 2)} s`,
    );
    printDetails(result);
    await sampling.done();
    return result;
  } finally {
    await dispatcher.close();
    await retire(bench, organisations);
  }
}

/** Steady load: RATE events/s for SECONDS over STEADY_ORGANISATIONS organisations of 1–5 webhooks. */
async function steady(bench: Bench, run: "latency" | "isolation", organisations: readonly Organisation[]): Promise<Result> {
  const events = Math.round(RATE * SECONDS);
  const targets = Array.from({ length: events }, (_, i) => organisations[i % organisations.length]!);
  const healthy = (webhook: number) => bench.registry.kindOf(webhook) === "healthy";
  const count = (of: Endpoint) => targets.reduce((sum, organisation) => sum + organisation.webhooks.filter((w) => bench.registry.kindOf(w) === of).length, 0);
  const expected = count("healthy");
  const slow = count("slow");
  const dead = count("dead");
  const label =
    run === "latency" ? `${RATE} events/s × ${SECONDS} s, each to 1–5 webhooks` : `same load, 10 % of endpoints dead (refused), 10 % answering after ${SLOW_MS / 1000} s; healthy endpoints only`;
  console.log(
    `\n${run === "latency" ? 2 : 3} ${run}: ${label}: ${events} events, ${expected} deliveries to healthy endpoints${run === "isolation" ? `, ${slow} to slow, ${dead} to dead (× ${SCHEDULE.length + 1} attempts)` : ""}`,
  );
  const otherBefore = await quiet(bench);
  const attempts = new Attempts();
  const dispatcher = dispatcherFor(bench, attempts);
  const arrivals = bench.listen();
  const enqueue: number[] = [];
  const errors: unknown[] = [];
  const handled: Promise<void>[] = [];
  const sampling = await pgSample(bench);
  try {
    const start = meter(bench, attempts, true);
    const origin = performance.now();
    for (let i = 0; i < events; i += 1) {
      const wait = origin + (i * 1000) / RATE - performance.now();
      if (wait > 0.5) await sleep(wait);
      handled.push(fire(dispatcher, (at) => itemRenamed(targets[i]!.id, i, at), enqueue, errors));
    }
    await Promise.all(handled);
    const lastEvent = now();
    const done = await arrivals.until(expected, SETTLE_MS, (arrival) => healthy(arrival.webhook));
    // Every attempt of this run recorded: dead endpoints' retries too, so that CPU per attempt covers them.
    const expectedAttempts = expected + slow + dead * (SCHEDULE.length + 1);
    while (attempts.count < expectedAttempts && now() - lastEvent < SETTLE_MS + SLOW_MS) await sleep(50);
    const end = meter(bench, attempts);
    const healthyArrivals = arrivals.first.filter((arrival) => healthy(arrival.webhook));
    const latencies = healthyArrivals.map((arrival) => arrival.latency);
    const result: Result = {
      run,
      label,
      deliveries: latencies.length,
      expected,
      repeats: arrivals.repeats,
      handleErrors: errors.length,
      seconds: (end.at - start.at) / 1000,
      latency: summary(latencies),
      enqueue: summary(enqueue),
      usage: usageBetween(bench, start, end),
      otherBefore,
      outcomes: attempts.outcomes,
      stages: attempts.stages(healthyArrivals),
      claims: attempts.claims(),
    };
    const s = result.latency!;
    console.log(
      `   ${result.deliveries}/${expected} healthy deliveries received${done ? "" : " (TIMED OUT)"}; ms from handle(): p50 ${fmt(s.p50)}, p90 ${fmt(s.p90)}, p99 ${fmt(s.p99)}, max ${fmt(s.max)} (target p99 <= ${TARGET_P99_MS}); ` +
        `handle() itself p50 ${fmt(result.enqueue!.p50)}, p99 ${fmt(result.enqueue!.p99)}`,
    );
    if (run === "isolation") {
      const slowArrivals = arrivals.first.filter((arrival) => bench.registry.kindOf(arrival.webhook) === "slow");
      console.log(`   slow endpoints: ${slowArrivals.length}/${slow} requests arrived, p50 ${fmt(summary(slowArrivals.map((a) => a.latency)).p50)} ms after handle()`);
    }
    printDetails(result);
    await sampling.done();
    return result;
  } finally {
    await dispatcher.close();
    await retire(bench, organisations);
  }
}

function printDetails(result: Result): void {
  const { usage, outcomes, claims } = result;
  console.log(
    `   ${usage.attempts} attempts (${Object.entries(outcomes)
      .map(([k, v]) => `${k} ${v}`)
      .join(", ")}) in ${claims.claims} claims (${fmt(claims.perClaim, 1)} rows per claim); per attempt: bench process CPU ${fmt(usage.benchCpu, 2)} ms, ` +
      `PostgreSQL CPU ${fmt(usage.postgresCpu, 2)} ms, receivers CPU ${fmt(usage.receiverCpu, 2)} ms, ${fmt(usage.statements, 2)} SQL statements; ` +
      `event-loop delay p99 ${fmt(usage.loopDelayP99)} ms, max ${fmt(usage.loopDelayMax)} ms; other load ${fmt(usage.otherCores, 2)} cores; load average ${loadAverage()}`,
  );
  console.log(`   where a first delivery's time goes (ms; a claim's start is its lease's start, ms resolution):`);
  for (const { label, s } of result.stages) console.log(`     ${label}: p50 ${fmt(s.p50)}, p90 ${fmt(s.p90)}, p99 ${fmt(s.p99)}, max ${fmt(s.max)}`);
}

// ───────────────────────────── report ─────────────────────────────

const verdict = (ok: boolean) => (ok ? "met" : "**missed**");

function report(results: readonly Result[]): void {
  const latency = results.find((r) => r.run === "latency");
  const rows = results.map((r) => {
    const s = r.latency;
    let target: string;
    let met: string;
    if (r.run === "throughput") {
      target = `>= ${TARGET_THROUGHPUT}/s`;
      met = verdict((r.perSecond ?? 0) >= TARGET_THROUGHPUT && r.deliveries === r.expected);
    } else if (r.run === "latency") {
      target = `p99 <= ${TARGET_P99_MS} ms`;
      met = verdict((s?.p99 ?? Infinity) <= TARGET_P99_MS && r.deliveries === r.expected);
    } else {
      const base = latency?.latency?.p99;
      const change = base !== undefined && s ? s.p99 / base - 1 : NaN;
      target = `p99 within +${TARGET_P99_CHANGE * 100} % of run 2's${Number.isFinite(change) ? ` (${change >= 0 ? "+" : ""}${fmt(change * 100, 0)} %)` : ""}`;
      met = Number.isFinite(change) ? verdict(change <= TARGET_P99_CHANGE && r.deliveries === r.expected) : "–";
    }
    return [
      `${RUNS.indexOf(r.run) + 1} ${r.run}`,
      r.label,
      `${r.deliveries}/${r.expected}${r.repeats ? ` (+${r.repeats} repeats)` : ""}`,
      r.perSecond !== undefined ? `**${fmt(r.perSecond, 0)}**` : "–",
      s ? fmt(s.p50) : "–",
      s ? fmt(s.p90) : "–",
      s ? `**${fmt(s.p99)}**` : "–",
      s ? fmt(s.max) : "–",
      fmt(r.usage.benchCpu, 2),
      fmt(r.usage.postgresCpu, 2),
      fmt(r.usage.statements, 1),
      `${fmt(r.otherBefore, 2)} / ${fmt(r.usage.otherCores, 2)}`,
      target,
      met,
    ];
  });
  console.log(`\n## Webhooks: one dispatcher, PostgreSQL queue, loopback receivers (latency from handle(), not from the event's commit)\n`);
  console.log(
    table(
      [
        "run",
        "load",
        "delivered",
        "deliveries/s",
        "p50 ms",
        "p90 ms",
        "p99 ms",
        "max ms",
        "bench CPU ms/attempt",
        "PG CPU ms/attempt",
        "SQL/attempt",
        "other load before / during (cores)",
        "target",
        "",
      ],
      rows,
    ),
  );
  const options = { ...OVERRIDES, schedule: SCHEDULE, agent: { allowPrivate: true } };
  console.log(
    `\nDispatcher: ${DISPATCHER_MODULE ? resolve(DISPATCHER_MODULE) : "the working tree's"}, its defaults but ${JSON.stringify(options)}; Prisma pool ${POOL_MAX}` +
      `${HISTORY > 0 ? `; ${HISTORY} old deliveries per webhook` : "; fresh tables"}. CPU and SQL statements (BEGIN/COMMIT included) are per recorded attempt ` +
      `(isolation: dead endpoints' retries included); "other load" is CPU of processes not ours (this one, the receivers, our database's backends) before / during the run.`,
  );
}

// ───────────────────────────── main ─────────────────────────────

async function main(): Promise<void> {
  const started = now();
  console.log(
    `webhook dispatcher benchmark: ${ONLY ? `only ${ONLY}` : RUNS.join(", ")}; ${RATE} events/s × ${SECONDS} s; latency = handle() called → receiver has the request ` +
      `(the event-committed → handle() hop is not included); load average ${loadAverage()}`,
  );
  if (Object.keys(OVERRIDES).length > 0) console.log(`dispatcher overrides (experiment): ${JSON.stringify(OVERRIDES)}`);
  if (DISPATCHER_MODULE) console.log(`dispatcher module (experiment): ${resolve(DISPATCHER_MODULE)}`);
  let current = new Arrivals();
  const receivers = await startReceivers((receipts) => {
    for (const receipt of receipts) current.add(receipt);
  });
  let database: BenchDatabase | undefined;
  let prisma: PrismaClient | undefined;
  try {
    database = await benchDatabase();
    let statements = 0;
    // Prisma logs every statement but the BEGIN of a transaction: its COMMIT (or ROLLBACK) stands for both.
    prisma = createPrisma({ url: database.url, poolMax: POOL_MAX, onQuery: (sql) => void (statements += sql === "COMMIT" || sql === "ROLLBACK" ? 2 : 1) });
    console.log(`database ${database.name} migrated; receivers on 127.0.0.1:${receivers.port}, dead port ${receivers.deadPort} (${fmt((now() - started) / 1000, 1)} s)`);
    const loopDelay = monitorEventLoopDelay({ resolution: 10 });
    loopDelay.enable();
    const bench: Bench = {
      prisma,
      registry: new WebhookRegistry(prisma, receivers),
      database,
      receivers,
      statements: () => statements,
      postgresCpu: new BackendCpu(database.name),
      loopDelay,
      listen: () => (current = new Arrivals()),
    };
    // Every run's webhooks first, so that BENCH_HISTORY gives all of them a past.
    const { registry } = bench;
    const [warm] = await registry.organisations([50]);
    const burst = selected("throughput") ? await registry.organisations(Array.from({ length: BURST_ORGANISATIONS }, () => BURST_WEBHOOKS / BURST_ORGANISATIONS)) : [];
    // Isolation is judged against run 2 on the same machine state, so run 2 runs whenever isolation does.
    const steadySizes = Array.from({ length: STEADY_ORGANISATIONS }, (_, i) => (i % 5) + 1);
    const calm = selected("latency") || selected("isolation") ? await registry.organisations(steadySizes) : [];
    const troubled = selected("isolation") ? await registry.organisations(steadySizes, (index) => (index % 10 === 3 ? "dead" : index % 10 === 7 ? "slow" : "healthy")) : [];
    if (HISTORY > 0) {
      const rows = await deliveryHistory(prisma, HISTORY);
      console.log(`history: ${rows} SUCCEEDED deliveries (${HISTORY} per webhook) inserted and analysed`);
    }
    await warmUp(bench, warm!);
    const results: Result[] = [];
    if (burst.length > 0) results.push(await throughput(bench, burst));
    if (calm.length > 0) results.push(await steady(bench, "latency", calm));
    if (troubled.length > 0) results.push(await steady(bench, "isolation", troubled));
    report(results);
    if (results.some((r) => r.deliveries !== r.expected || r.handleErrors > 0 || r.repeats > 0)) process.exitCode = 1;
  } finally {
    await prisma?.$disconnect();
    await receivers.stop();
    await database?.drop().catch((error: unknown) => console.error(`dropping ${database?.name} failed`, error));
    console.log(`\ncleaned up: ${database?.name ?? "no database"} dropped, receivers stopped (${fmt((now() - started) / 1000, 0)} s in all)`);
  }
}

await main();
