// The Slack and Teams apps in the full stack (test/support/chat.ts: gateway and subgraphs on a fresh
// seeded PostgreSQL database and Redis, the integrations runtime behind the gateway with both chat
// apps, a Slack-compatible and a Bot-Connector-compatible server on loopback, and the Kafka
// pipeline: outbox relay → Kafka on 127.0.0.1:9092 → the runtime's consumer group). Prints figures;
// asserts no times.
//
//   LOG_LEVEL=silent node bench/integrations/run.ts           # every run (~8 min)
//   BENCH_ONLY=slack,command LOG_LEVEL=silent node bench/integrations/run.ts
//
//   1 slack     createItem (GraphQL, OWNER) on the PUBLIC board, one every BENCH_INTERVAL_MS (1.2 s:
//               the channel's 1 message/s pacing never batches two), BENCH_N (60) times; ms from
//               just before the mutation is sent to the Slack-compatible server accepting the
//               chat.postMessage that names the item (its own receive time).
//   2 channels  the same pace on BENCH_CHANNELS (4) PRIVATE boards at once, each with a board-scoped
//               Slack channel of its own (the organisation-wide channel hears nothing of them).
//   3 teams     run 1 in the other organisation, with a connected Teams tenant: to the Adaptive
//               Card activity the Bot-Connector-compatible server accepts.
//   4 command   `/sunday create <name> in "<board>"`, signed, through the gateway, BENCH_N times at
//               the same pace: to the acknowledgement, to the item row existing (the bench polls
//               the database every 5 ms) and to the response_url POST the Slack server records.
//   5 outage    the Slack server down() for BENCH_OUTAGE_S (60) s while BENCH_OUTAGE_ITEMS (30) items
//               are created (evenly spread), then up(): lost, duplicates, up() → last notification.
//
// Options (environment): BENCH_ONLY (comma list of the runs above), BENCH_N, BENCH_INTERVAL_MS,
// BENCH_CHANNELS, BENCH_OUTAGE_S, BENCH_OUTAGE_ITEMS, BENCH_SETTLE_MS (30000: how long a run waits
// for its last messages), BENCH_CHAT_DISPATCHER (chat dispatcher options over production's
// defaults, JSON, e.g. '{"pollIntervalMs":50}'). The seeded webhooks (to example.invalid) are
// switched off first so their retries do not share the runtime with what is measured.
import { randomUUID } from "node:crypto";
import { cpus } from "node:os";
import type { ChatDispatcherOptions } from "../../subgraphs/integrations/runtime/chat/notifications/dispatcher.ts";
import { startChatHarness, type ChatHarness } from "../../test/support/chat.ts";
import { fmt, loadAverage, numberEnv, percentile, sleep, summary, table } from "../subscriptions/lib.ts";
import { type Arrival, latencies, NameWatch, slackReceived, teamsReceived } from "./inbox.ts";
import { notificationStages, type Stage } from "./stages.ts";

const RUNS = ["slack", "channels", "teams", "command", "outage"] as const;
type Run = (typeof RUNS)[number];
const ONLY = (process.env.BENCH_ONLY ?? "")
  .split(",")
  .map((run) => run.trim())
  .filter((run) => run !== "");
for (const run of ONLY) if (!RUNS.includes(run as Run)) throw new Error(`BENCH_ONLY takes ${RUNS.join(", ")}; got ${run}`);
const selected = (run: Run) => ONLY.length === 0 || ONLY.includes(run);

const N = numberEnv("BENCH_N", 60);
const INTERVAL_MS = numberEnv("BENCH_INTERVAL_MS", 1200);
const CHANNELS = numberEnv("BENCH_CHANNELS", 4);
const OUTAGE_S = numberEnv("BENCH_OUTAGE_S", 60);
const OUTAGE_ITEMS = numberEnv("BENCH_OUTAGE_ITEMS", 30);
const SETTLE_MS = numberEnv("BENCH_SETTLE_MS", 30_000);
/** Production's dispatcher defaults (the test harness polls every 50 ms), with the experiment's overrides. */
const DISPATCHER: Partial<ChatDispatcherOptions> = { pollIntervalMs: 250, channelIntervalMs: 1000, ...(JSON.parse(process.env.BENCH_CHAT_DISPATCHER ?? "{}") as object) };
/** The first notification waits for the runtime's consumer group to join: up to a minute on a cold broker. */
const WARM_UP_MS = 120_000;
const TARGET_P99_MS = 1000;

const TEAM = "T0BENCH01";
const CHANNEL = "C0UPDATES";
const OWNER_SLACK_ID = "U0BENCHOWNER";
const TENANT = "a1b2c3d4-0000-4000-8000-00000000be01";
const CONVERSATION = "19:bench-updates@thread.tacv2";

const pad = (n: number) => String(n).padStart(3, "0");
/** Item names of one run: same length, distinct, so none contains another. */
const namer = (label: string) => {
  const tag = randomUUID().slice(0, 6);
  return (n: number) => `Bench ${label} ${tag} ${pad(n)}`;
};

// ───────────────────────────── the stack ─────────────────────────────

interface Board {
  readonly id: string;
  readonly groupId: string;
  readonly name: string;
}

interface Bench {
  readonly chat: ChatHarness;
  readonly owner: readonly [string, string];
}

const CREATE_ITEM = `mutation BenchCreateItem($input: CreateItemInput!) { createItem(input: $input) { id } }`;

/** createItem as the organisation's OWNER; the ms until the gateway answered, or the error. */
async function createItem(bench: Bench, org: 0 | 1, board: Board, name: string): Promise<{ ms: number; error?: string }> {
  const started = Date.now();
  try {
    const result = await bench.chat.harness.gql(bench.owner[org], CREATE_ITEM, { input: { boardId: board.id, groupId: board.groupId, name } });
    const ms = Date.now() - started;
    return result.body.errors ? { ms, error: result.body.errors.map((e) => e.message).join("; ") } : { ms };
  } catch (error) {
    return { ms: Date.now() - started, error: String(error) };
  }
}

function seededBoard(chat: ChatHarness, org: 0 | 1): Board {
  const board = chat.harness.seed.organizations[org].boards[0];
  return { id: board.id, groupId: board.groupIds[0] ?? "", name: board.name };
}

/** A PRIVATE board of org 0 made by its OWNER, with one group. */
async function privateBoard(bench: Bench, name: string): Promise<Board> {
  const { chat } = bench;
  const created = await chat.harness.gql(bench.owner[0], `mutation($input: CreateBoardInput!) { createBoard(input: $input) { id groups { id } } }`, {
    input: { workspaceId: chat.harness.seed.organizations[0].workspaceId, name, kind: "PRIVATE" },
  });
  const board = created.body.data?.createBoard as { id: string; groups: { id: string }[] } | undefined;
  if (!board) throw new Error(`createBoard failed: ${JSON.stringify(created.body.errors)}`);
  let groupId = board.groups[0]?.id;
  if (!groupId) {
    const group = await chat.harness.gql(bench.owner[0], `mutation($input: CreateGroupInput!) { createGroup(input: $input) { id } }`, { input: { boardId: board.id, name: "Bench" } });
    groupId = (group.body.data?.createGroup as { id: string } | undefined)?.id;
    if (!groupId) throw new Error(`createGroup failed: ${JSON.stringify(group.body.errors)}`);
  }
  return { id: board.id, groupId, name };
}

async function installSlack(chat: ChatHarness, channel: string, boardId?: string): Promise<void> {
  const installed = await chat.installSlack(0, { teamId: TEAM, teamName: "Bench", channel, ...(boardId ? { boardId } : {}) });
  if (installed.status !== 200) throw new Error(`Slack install (${channel}) answered ${installed.status}: ${JSON.stringify(installed.body)}`);
}

/** Fires `fire(n)` every `intervalMs` (not waiting for the previous one), then waits for them all. */
async function paced(count: number, intervalMs: number, fire: (n: number) => Promise<void>): Promise<void> {
  const started = performance.now();
  const running: Promise<void>[] = [];
  for (let n = 0; n < count; n += 1) {
    const wait = started + n * intervalMs - performance.now();
    if (wait > 0) await sleep(wait);
    running.push(fire(n));
  }
  await Promise.all(running);
}

/** One item's notification, waited for: the stack's first one includes the consumer group joining. */
async function warmUp<T>(bench: Bench, watch: NameWatch<T>, org: 0 | 1, boards: readonly { board: Board; channel: string }[], label: string): Promise<void> {
  const started = Date.now();
  const name = namer(`warm ${label}`);
  for (const [n, { board, channel }] of boards.entries()) {
    watch.expect({ name: name(n), channel, sentAt: Date.now() });
    const result = await createItem(bench, org, board, name(n));
    if (result.error) throw new Error(`warm-up createItem failed: ${result.error}`);
  }
  if (!(await watch.settle(WARM_UP_MS))) throw new Error(`warm-up (${label}): no notification within ${WARM_UP_MS / 1000} s`);
  console.log(`   warm-up (${label}): ${boards.length} notification(s) in ${fmt((Date.now() - started) / 1000, 1)} s`);
}

// ───────────────────────────── runs 1–3: mutation → message ─────────────────────────────

interface LatencyResult {
  readonly run: Run;
  readonly load: string;
  readonly arrivals: readonly Arrival[];
  readonly errors: number;
  readonly duplicates: number;
  /** createItem sent → the gateway's answer. */
  readonly mutation: ReturnType<typeof summary>;
  readonly stages: readonly Stage[];
}

async function mutationToMessage<T>(
  bench: Bench,
  run: Run,
  input: { org: 0 | 1; boards: readonly { board: Board; channel: string }[]; watch: NameWatch<T>; provider: "SLACK" | "TEAMS"; load: string },
): Promise<LatencyResult> {
  const { watch } = input;
  const name = namer(run);
  const mutationMs: number[] = [];
  let errors = 0;
  let firstError = "";
  // As at the steady pace, the channel's last message (the warm-up's) is an interval old: one sent
  // right after it would wait out the 1 message/s pacing, and so would every later one, less 200 ms each.
  await sleep(INTERVAL_MS);
  await paced(N, INTERVAL_MS, async (tick) => {
    await Promise.all(
      input.boards.map(async ({ board, channel }, b) => {
        const itemName = name(tick * input.boards.length + b);
        watch.expect({ name: itemName, channel, sentAt: Date.now() });
        const result = await createItem(bench, input.org, board, itemName);
        mutationMs.push(result.ms);
        if (result.error) {
          errors += 1;
          firstError ||= result.error;
        }
      }),
    );
  });
  await watch.settle(SETTLE_MS);
  if (firstError) console.log(`   createItem errors: ${errors}, the first: ${firstError}`);
  const arrivals = watch.arrivals().filter((arrival) => arrival.name.startsWith(name(0).slice(0, -3)));
  const result: LatencyResult = {
    run,
    load: input.load,
    arrivals,
    errors,
    duplicates: arrivals.reduce((sum, arrival) => sum + Math.max(0, arrival.count - 1), 0),
    mutation: summary(mutationMs),
    stages: await notificationStages(bench.chat.harness.prisma, arrivals, input.provider),
  };
  printLatency(result);
  return result;
}

function line(s: ReturnType<typeof summary>, values: readonly number[]): string {
  const sorted = [...values].sort((a, b) => a - b);
  return `p50 ${fmt(s.p50, 0)}, p95 ${fmt(percentile(sorted, 95), 0)}, p99 ${fmt(s.p99, 0)}, max ${fmt(s.max, 0)}`;
}

function printLatency(result: LatencyResult): void {
  const values = latencies(result.arrivals);
  const s = summary(values);
  console.log(
    `   ${values.length}/${result.arrivals.length} received${result.duplicates ? `, ${result.duplicates} duplicates` : ""}; ms mutation sent → message at the chat server: ${line(s, values)} (target p99 < ${TARGET_P99_MS})`,
  );
  console.log(`   createItem answered by the gateway after: p50 ${fmt(result.mutation.p50, 0)}, p99 ${fmt(result.mutation.p99, 0)} ms`);
  console.log(`   where the time goes (ms, PostgreSQL and Date.now() clocks, 1 ms resolution):`);
  for (const { label, s: stage } of result.stages) console.log(`     ${label}: p50 ${fmt(stage.p50, 0)}, p90 ${fmt(stage.p90, 0)}, p99 ${fmt(stage.p99, 0)}, max ${fmt(stage.max, 0)}`);
}

async function slackRun(bench: Bench): Promise<LatencyResult> {
  console.log(`\n1 slack: createItem every ${INTERVAL_MS} ms × ${N} on the PUBLIC board → one organisation-wide Slack channel`);
  const watch = new NameWatch(() => bench.chat.slack.messages, slackReceived);
  const boards = [{ board: seededBoard(bench.chat, 0), channel: CHANNEL }];
  return mutationToMessage(bench, "slack", { org: 0, boards, watch, provider: "SLACK", load: `1 channel, 1 item / ${INTERVAL_MS / 1000} s` });
}

async function channelsRun(bench: Bench): Promise<LatencyResult> {
  console.log(`\n2 channels: ${CHANNELS} PRIVATE boards, each with a board-scoped Slack channel; createItem on every board every ${INTERVAL_MS} ms × ${N}`);
  const boards: { board: Board; channel: string }[] = [];
  for (let k = 0; k < CHANNELS; k += 1) {
    const board = await privateBoard(bench, `Bench channel board ${k}`);
    const channel = `C0BOARD${k}`;
    await installSlack(bench.chat, channel, board.id);
    boards.push({ board, channel });
  }
  const watch = new NameWatch(() => bench.chat.slack.messages, slackReceived);
  await warmUp(bench, watch, 0, boards, "board channels");
  return mutationToMessage(bench, "channels", { org: 0, boards, watch, provider: "SLACK", load: `${CHANNELS} channels, 1 item / ${INTERVAL_MS / 1000} s each` });
}

async function teamsRun(bench: Bench): Promise<LatencyResult> {
  console.log(`\n3 teams: createItem every ${INTERVAL_MS} ms × ${N} on org 1's PUBLIC board → a connected Teams channel`);
  const { chat } = bench;
  const connected = await chat.connectTeams(1, { tenantId: TENANT, conversationId: CONVERSATION, fromId: "29:bench-owner", aadObjectId: randomUUID() });
  if (connected.status !== 200) throw new Error(`Teams connect answered ${connected.status}`);
  const organizationId = chat.harness.seed.organizations[1].id;
  const deadline = Date.now() + 30_000;
  while ((await chat.harness.prisma.integration.count({ where: { organizationId, type: "TEAMS", enabled: true } })) === 0) {
    if (Date.now() > deadline) throw new Error("the Teams tenant was not connected within 30 s");
    await sleep(50);
  }
  const watch = new NameWatch(() => chat.bot.activities, teamsReceived);
  const boards = [{ board: seededBoard(chat, 1), channel: CONVERSATION }];
  await warmUp(bench, watch, 1, boards, "Teams");
  return mutationToMessage(bench, "teams", { org: 1, boards, watch, provider: "TEAMS", load: `1 conversation, 1 item / ${INTERVAL_MS / 1000} s` });
}

// ───────────────────────────── run 4: command → item → confirmation ─────────────────────────────

interface CommandResult {
  readonly acked: number[];
  readonly itemRow: number[];
  readonly confirmed: number[];
  readonly failures: number;
  readonly firstFailure: string;
}

/** Polls for the item row every 5 ms; Date.now() when it was seen, undefined after `timeoutMs`. */
async function rowSeen(chat: ChatHarness, name: string, timeoutMs: number): Promise<number | undefined> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await chat.harness.prisma.item.findFirst({ where: { name }, select: { id: true } })) return Date.now();
    await sleep(5);
  }
  return undefined;
}

async function commandRun(bench: Bench): Promise<CommandResult> {
  const { chat } = bench;
  const board = seededBoard(chat, 0);
  console.log(`\n4 command: /sunday create <name> in "${board.name}" every ${INTERVAL_MS} ms × ${N}, as the mapped OWNER`);
  const acked: number[] = [];
  const itemRow: number[] = [];
  const confirmed: number[] = [];
  let failures = 0;
  let firstFailure = "";
  const fail = (why: string) => {
    failures += 1;
    firstFailure ||= why;
  };
  const one = async (name: string, record: boolean) => {
    const sentAt = Date.now();
    const row = rowSeen(chat, name, SETTLE_MS);
    const sent = await chat.slashCommand(TEAM, OWNER_SLACK_ID, `create ${name} in "${board.name}"`);
    const ackedAt = Date.now();
    if (sent.status !== 200) return fail(`the command answered ${sent.status}`);
    const seenAt = await row;
    const deadline = Date.now() + SETTLE_MS;
    let response = chat.slack.responses.find((candidate) => candidate.url === sent.responseUrl);
    while (!response && Date.now() < deadline) {
      await sleep(5);
      response = chat.slack.responses.find((candidate) => candidate.url === sent.responseUrl);
    }
    if (seenAt === undefined) fail(`no item row for ${name}`);
    if (!response) return fail(`no response_url POST for ${name}`);
    if (!JSON.stringify(response.body).includes(name)) fail(`the confirmation does not name the item: ${JSON.stringify(response.body).slice(0, 300)}`);
    if (!record) return;
    acked.push(ackedAt - sentAt);
    if (seenAt !== undefined) itemRow.push(seenAt - sentAt);
    confirmed.push(response.at - sentAt);
  };
  const warm = Date.now();
  await one(namer("warm command")(0), false);
  console.log(`   warm-up: the first command (maps the Slack user by users.info) took ${Date.now() - warm} ms`);
  const name = namer("command");
  await paced(N, INTERVAL_MS, (n) => one(name(n), true));
  if (failures > 0) console.log(`   failures: ${failures}, the first: ${firstFailure}`);
  for (const [label, values] of [
    ["command POSTed → acknowledged (gateway → runtime → 200)", acked],
    ["command POSTed → item row exists (polled every 5 ms)", itemRow],
    ["command POSTed → confirmation at the response_url", confirmed],
  ] as const) {
    console.log(`   ${label}: ${values.length}/${N}, ms ${line(summary(values), values)}`);
  }
  return { acked, itemRow, confirmed, failures, firstFailure };
}

// ───────────────────────────── run 5: outage ─────────────────────────────

interface OutageResult {
  readonly sent: number;
  readonly received: number;
  readonly lost: number;
  readonly duplicates: number;
  readonly errors: number;
  /** up() → the last notification of the outage received; undefined when none arrived. */
  readonly drainMs: number | undefined;
  /** up() → the earliest retry the queue held for them. */
  readonly firstRetryMs: number | undefined;
  readonly messages: number;
  readonly maxAttempt: number;
}

/** What the queue held for the outage's notifications when the server came back: why the drain takes as long as it does. */
function printQueue(rows: readonly { status: string; attempt: number; nextAttemptAt: Date; error: string | null }[], upAt: number): void {
  const pending = rows.filter((row) => row.status === "PENDING");
  const attempts = pending.map((row) => row.attempt);
  const dueIn = pending.map((row) => (row.nextAttemptAt.getTime() - upAt) / 1000).sort((a, b) => a - b);
  const reasons = new Map<string, number>();
  for (const row of pending) {
    const reason = (row.error ?? "none").replace(/[0-9]+/g, "#").slice(0, 60);
    reasons.set(reason, (reasons.get(reason) ?? 0) + 1);
  }
  console.log(
    `   at up(): ${pending.length}/${rows.length} notifications pending, attempts so far ${Math.min(...attempts)}–${Math.max(...attempts)}, ` +
      `next attempts due ${dueIn.map((s) => fmt(s, 0)).join(" ")} s after up(); last errors: ${[...reasons].map(([reason, count]) => `${count}× "${reason}"`).join(", ")}`,
  );
}

async function outageRun(bench: Bench): Promise<OutageResult> {
  const { chat } = bench;
  const prisma = chat.harness.prisma;
  const board = seededBoard(chat, 0);
  const spacing = (OUTAGE_S * 1000) / OUTAGE_ITEMS;
  console.log(`\n5 outage: the Slack server down for ${OUTAGE_S} s while ${OUTAGE_ITEMS} items are created (one every ${fmt(spacing / 1000, 1)} s), then up()`);
  await chat.runtime.drain();
  const watch = new NameWatch(() => chat.slack.messages, slackReceived);
  const messagesBefore = chat.slack.messages.length;
  const name = namer("outage");
  let errors = 0;
  await chat.slack.down();
  const downAt = Date.now();
  await paced(OUTAGE_ITEMS, spacing, async (n) => {
    watch.expect({ name: name(n), channel: CHANNEL, sentAt: Date.now() });
    if ((await createItem(bench, 0, board, name(n))).error) errors += 1;
  });
  const rest = downAt + OUTAGE_S * 1000 - Date.now();
  if (rest > 0) await sleep(rest);
  const eventIds = (
    await prisma.outboxEvent.findMany({
      where: {
        eventType: "project.item.created",
        aggregateId: { in: (await prisma.item.findMany({ where: { name: { startsWith: name(0).slice(0, -3) } }, select: { id: true } })).map((item) => item.id) },
      },
      select: { id: true },
    })
  ).map((event) => event.id);
  const queued = await prisma.chatNotification.findMany({ where: { eventId: { in: eventIds } }, select: { status: true, attempt: true, nextAttemptAt: true, error: true } });
  await chat.slack.up();
  const upAt = Date.now();
  printQueue(queued, upAt);
  const due = queued.filter((row) => row.status === "PENDING").map((row) => row.nextAttemptAt.getTime());
  const settled = await watch.settle(Math.max(SETTLE_MS, 180_000), 50);
  const arrivals = watch.arrivals();
  const received = arrivals.filter((arrival) => arrival.at !== undefined).length;
  const lastAt = watch.lastAt();
  const attempts = await prisma.chatNotification.aggregate({ where: { eventId: { in: eventIds } }, _max: { attempt: true } });
  const result: OutageResult = {
    sent: OUTAGE_ITEMS,
    received,
    lost: OUTAGE_ITEMS - received,
    duplicates: arrivals.reduce((sum, arrival) => sum + Math.max(0, arrival.count - 1), 0),
    errors,
    drainMs: lastAt === undefined ? undefined : lastAt - upAt,
    firstRetryMs: due.length > 0 ? Math.min(...due) - upAt : undefined,
    messages: chat.slack.messages.length - messagesBefore,
    maxAttempt: attempts._max.attempt ?? 0,
  };
  console.log(
    `   ${received}/${OUTAGE_ITEMS} received${settled ? "" : " (gave up waiting)"}, lost ${result.lost}, duplicates ${result.duplicates}, createItem errors ${errors}; ` +
      `${result.messages} chat.postMessage calls accepted after up() carried them`,
  );
  console.log(
    `   up() → last notification received: ${result.drainMs === undefined ? "–" : `${fmt(result.drainMs / 1000, 1)} s`}; ` +
      `the earliest queued retry was due ${result.firstRetryMs === undefined ? "–" : `${fmt(result.firstRetryMs / 1000, 1)} s`} after up(); most attempts of one notification: ${result.maxAttempt}`,
  );
  return result;
}

// ───────────────────────────── report ─────────────────────────────

function report(latency: readonly LatencyResult[], command: CommandResult | undefined, outage: OutageResult | undefined): void {
  console.log(`\n## Chat apps: full stack, Kafka pipeline (ms from just before the request is sent to the chat server's receive time)\n`);
  const rows: string[][] = [];
  for (const r of latency) {
    const values = latencies(r.arrivals);
    const s = summary(values);
    const sorted = [...values].sort((a, b) => a - b);
    const label = r.run === "teams" ? "mutation → Teams card" : "mutation → Slack message";
    rows.push([
      `${RUNS.indexOf(r.run) + 1} ${r.run}`,
      label,
      r.load,
      `${values.length}/${r.arrivals.length}${r.duplicates ? ` (+${r.duplicates} dup.)` : ""}`,
      fmt(s.p50, 0),
      fmt(percentile(sorted, 95), 0),
      `**${fmt(s.p99, 0)}**`,
      fmt(s.max, 0),
      `p99 < ${TARGET_P99_MS}`,
      values.length === r.arrivals.length && s.p99 < TARGET_P99_MS ? "met" : "**missed**",
    ]);
  }
  if (command) {
    for (const [label, values] of [
      ["command → acknowledged", command.acked],
      ["command → item row", command.itemRow],
      ["command → confirmation", command.confirmed],
    ] as const) {
      const s = summary(values);
      rows.push([
        "4 command",
        label,
        `1 command / ${INTERVAL_MS / 1000} s`,
        `${values.length}/${N}`,
        fmt(s.p50, 0),
        fmt(
          percentile(
            [...values].sort((a, b) => a - b),
            95,
          ),
          0,
        ),
        `**${fmt(s.p99, 0)}**`,
        fmt(s.max, 0),
        "–",
        "",
      ]);
    }
  }
  console.log(table(["run", "figure", "load", "received", "p50 ms", "p95 ms", "p99 ms", "max ms", "target", ""], rows));
  if (outage) {
    console.log(
      `\n5 outage (Slack down ${OUTAGE_S} s, ${OUTAGE_ITEMS} items): lost **${outage.lost}**, duplicates **${outage.duplicates}**, ` +
        `up() → last notification **${outage.drainMs === undefined ? "–" : `${fmt(outage.drainMs / 1000, 1)} s`}** (earliest queued retry ${outage.firstRetryMs === undefined ? "–" : `${fmt(outage.firstRetryMs / 1000, 1)} s`} after up(); ${outage.messages} messages)`,
    );
  }
  console.log(`\nChat dispatcher options: ${JSON.stringify(DISPATCHER)}; ${cpus().length} cores, Node ${process.versions.node}, load average ${loadAverage()}.`);
}

// ───────────────────────────── main ─────────────────────────────

async function main(): Promise<void> {
  const started = Date.now();
  console.log(`chat apps benchmark: ${ONLY.length > 0 ? ONLY.join(", ") : RUNS.join(", ")}; N ${N}, every ${INTERVAL_MS} ms; full stack with the Kafka pipeline; load average ${loadAverage()}`);
  const chat = await startChatHarness("bench_integrations", { pipeline: true, dispatcher: DISPATCHER });
  let latency: LatencyResult[] = [];
  let command: CommandResult | undefined;
  let outage: OutageResult | undefined;
  try {
    const prisma = chat.harness.prisma;
    await prisma.webhook.updateMany({ data: { enabled: false } });
    const owner = [await chat.harness.token(0, "OWNER"), await chat.harness.token(1, "OWNER")] as const;
    const bench: Bench = { chat, owner };
    chat.slack.addUser(TEAM, { id: OWNER_SLACK_ID, email: (await chat.user(0, "OWNER")).email, verified: true });
    await installSlack(chat, CHANNEL);
    console.log(`stack, pipeline and Slack install ready (${fmt((Date.now() - started) / 1000, 1)} s)`);
    await warmUp(bench, new NameWatch(() => chat.slack.messages, slackReceived), 0, [{ board: seededBoard(chat, 0), channel: CHANNEL }], "Slack");

    latency = [];
    if (selected("slack")) latency.push(await slackRun(bench));
    if (selected("channels")) latency.push(await channelsRun(bench));
    if (selected("teams")) latency.push(await teamsRun(bench));
    if (selected("command")) command = await commandRun(bench);
    if (selected("outage")) outage = await outageRun(bench);
    report(latency, command, outage);
    const incomplete = latency.some((r) => r.errors > 0 || latencies(r.arrivals).length < r.arrivals.length || r.duplicates > 0);
    if (incomplete || (command?.failures ?? 0) > 0 || (outage && (outage.lost > 0 || outage.duplicates > 0 || outage.errors > 0))) process.exitCode = 1;
  } finally {
    await chat.dispose();
    console.log(`\ncleaned up: the stack stopped, its database dropped, its topics deleted (${fmt((Date.now() - started) / 1000, 0)} s in all)`);
  }
}

await main();
