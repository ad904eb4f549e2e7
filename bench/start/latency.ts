// What a newcomer sees on `npm start`: the real `npm start` (scripts/start.ts, the whole stack in
// one process) run as a child, then mutation sent -> event received on a graphql-ws
// `boardActivity` subscription, with the dev token the banner prints. Two modes, one after the other:
//
//   embedded  the default: PGlite in a temporary PGLITE_DATA_DIR (no DATABASE_URL, REDIS_URL, KAFKA_BROKERS)
//   postgres  DATABASE_URL = a fresh database on the machine's PostgreSQL (still no Redis, no Kafka)
//
// Either way events go in process (outbox relay -> the gateway's subscriptions). Per mode: warm-up
// changes (discarded), then BENCH_EVENTS changes with one event in flight, as in
// bench/subscriptions/latency.ts (its model). The target is the issue's: event p50 <= 30 ms.
// `npm start` keeps the gateway's default rate limit (100 requests a minute per user) and every
// change is the dev token's: the run waits out each spent minute between two changes (reported,
// never inside a timed change), so 330 changes take about 3.5 minutes per mode.
//
//   node bench/start/latency.ts          (from the repository root, Node 24 on PATH)
//
// Options: BENCH_EVENTS (300), BENCH_WARMUP_EVENTS (30), BENCH_GAP_MS (5), BENCH_EVENT_TIMEOUT_MS
// (5000), BENCH_START_TIMEOUT_MS (180000), BENCH_MODES (embedded,postgres), BENCH_VERBOSE=1 (echo the
// child's output). Exits 1 if an event is lost or duplicated (or the subscription reports an error).
import { spawn, type ChildProcess } from "node:child_process";
import { readdirSync, readFileSync, readlinkSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import http from "node:http";
import net from "node:net";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { fileURLToPath } from "node:url";
import { createDatabase, dropDatabase, fmt, loadAverage, now, numberEnv, postGraphQL, sleep, summary, table, type GraphQLAnswer } from "../subscriptions/lib.ts";
import { BOARD_ACTIVITY, openSubscription, parseNext, type LiveSocket } from "../subscriptions/ws-client.ts";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const EVENTS = numberEnv("BENCH_EVENTS", 300);
const WARMUP = numberEnv("BENCH_WARMUP_EVENTS", 30);
const GAP_MS = numberEnv("BENCH_GAP_MS", 5);
const EVENT_TIMEOUT_MS = numberEnv("BENCH_EVENT_TIMEOUT_MS", 5_000);
const START_TIMEOUT_MS = numberEnv("BENCH_START_TIMEOUT_MS", 180_000);
/** After the last event: how long copies may still arrive and be counted as duplicates. */
const DUPLICATE_WINDOW_MS = 500;
const STOP_GRACE_MS = 15_000;
const TARGET_P50_MS = 30;
const VERBOSE = process.env.BENCH_VERBOSE === "1";
const MODES = (process.env.BENCH_MODES ?? "embedded,postgres").split(",").map((mode) => mode.trim()) as Mode[];
type Mode = "embedded" | "postgres";
for (const mode of MODES) if (mode !== "embedded" && mode !== "postgres") throw new Error(`BENCH_MODES: unknown mode ${mode}`);

// Ctrl-C / SIGTERM of the benchmark: the child runs in a process group of its own (so that it can be
// stopped as a whole), so it is stopped here, through the same finally blocks as an error.
const aborted = new AbortController();
for (const signal of ["SIGINT", "SIGTERM"] as const) process.once(signal, () => aborted.abort(new Error(`${signal}: stopping`)));
function checkAborted(): void {
  if (aborted.signal.aborted) throw aborted.signal.reason;
}

// ───────────────────────────── the `npm start` child ─────────────────────────────

/** Free TCP ports on 127.0.0.1, all held open together so that they differ. */
async function freePorts(count: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from(
      { length: count },
      () =>
        new Promise<net.Server>((resolve, reject) => {
          const server = net.createServer();
          server.once("error", reject);
          server.listen(0, "127.0.0.1", () => resolve(server));
        }),
    ),
  );
  const ports = servers.map((server) => (server.address() as net.AddressInfo).port);
  await Promise.all(servers.map((server) => new Promise((resolve) => server.close(resolve))));
  return ports;
}

/** Every process below `pid` (through /proc/<pid>/task/<tid>/children). */
function descendants(pid: number): number[] {
  const found: number[] = [];
  const visit = (parent: number) => {
    let tasks: string[] = [];
    try {
      tasks = readdirSync(`/proc/${parent}/task`);
    } catch {
      return;
    }
    for (const task of tasks) {
      let children = "";
      try {
        children = readFileSync(`/proc/${parent}/task/${task}/children`, "utf8");
      } catch {
        continue;
      }
      for (const child of children.split(" ").filter(Boolean).map(Number)) {
        found.push(child);
        visit(child);
      }
    }
  };
  visit(pid);
  return found;
}

function cmdline(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, "utf8").replace(/\0/g, " ");
  } catch {
    return "";
  }
}

/** The Node process of scripts/start.ts under npm (not the `sh -c` npm runs it through), if it is running. */
function stackProcess(npmPid: number): number | undefined {
  return descendants(npmPid).find((pid) => {
    try {
      return basename(readlinkSync(`/proc/${pid}/exe`)).startsWith("node") && cmdline(pid).includes("scripts/start.ts");
    } catch {
      return false;
    }
  });
}

/** Whether `pid` is still the Node process of scripts/start.ts (and not gone, or a reused pid). */
function isStack(pid: number): boolean {
  return cmdline(pid).includes("scripts/start.ts");
}

interface Started {
  readonly child: ChildProcess;
  /** The Node process running scripts/start.ts (under npm and its shell). */
  readonly stackPid: number;
  readonly token: string;
  readonly gatewayUrl: string;
  /** Spawn -> "Sunday API is up" on stdout, as a newcomer waits for it. */
  readonly upAfterMs: number;
  /** What the banner says ("Sunday API is up in 12.3 s (…)"). */
  readonly banner: string;
  /** The tail of the child's output (stdout and stderr). */
  output(): string;
  stop(): Promise<{ code: number | null; signal: NodeJS.Signals | null; ms: number; killed: boolean }>;
}

/** `npm start` with `env`; resolves once the banner with the dev token is out. */
async function startNpm(env: NodeJS.ProcessEnv, port: number): Promise<Started> {
  const spawnedAt = now();
  const child = spawn("npm", ["start"], { cwd: ROOT, env, stdio: ["ignore", "pipe", "pipe"], detached: true });
  const lines: string[] = [];
  let stdout = "";
  const keep = (prefix: string) => (chunk: Buffer) => {
    const text = chunk.toString("utf8");
    if (VERBOSE) process.stdout.write(text.replace(/^(?=.)/gm, prefix));
    lines.push(...text.split("\n").filter((line) => line.length > 0));
    if (lines.length > 300) lines.splice(0, lines.length - 300);
  };
  child.stderr!.on("data", keep("  [npm start stderr] "));
  child.stdout!.on("data", keep("  [npm start] "));
  const output = () => lines.map((line) => `  | ${line}`).join("\n");

  let exit: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  const exited = new Promise<void>((resolve) =>
    child.once("exit", (code, signal) => {
      exit = { code, signal };
      resolve();
    }),
  );

  let stackPid = 0;
  let killed = false;
  const stop = async () => {
    const t0 = now();
    if (!exit) {
      // SIGTERM to the Node process of scripts/start.ts only: npm would forward a group-wide SIGTERM
      // again, and a second signal makes the stack exit 1 at once. npm exits when its script does.
      const target = stackPid || stackProcess(child.pid!) || child.pid!;
      try {
        process.kill(target, "SIGTERM");
      } catch {
        // gone meanwhile
      }
      const timer = setTimeout(() => {
        killed = true;
        try {
          process.kill(-child.pid!, "SIGKILL");
        } catch {
          // gone meanwhile
        }
      }, STOP_GRACE_MS);
      await exited;
      clearTimeout(timer);
    }
    // npm is gone; its script too, unless something in the group outlived it.
    const deadline = now() + STOP_GRACE_MS;
    while (stackPid && isStack(stackPid) && now() < deadline) await sleep(20);
    if (stackPid && isStack(stackPid)) {
      killed = true;
      try {
        process.kill(stackPid, "SIGKILL");
      } catch {
        // gone meanwhile
      }
    }
    return { code: exit?.code ?? null, signal: exit?.signal ?? null, ms: now() - t0, killed };
  };

  try {
    const up = await new Promise<{ token: string; banner: string; at: number }>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`npm start: no "Sunday API is up" after ${START_TIMEOUT_MS / 1000} s`)), START_TIMEOUT_MS);
      const onAbort = () => reject(aborted.signal.reason);
      aborted.signal.addEventListener("abort", onAbort, { once: true });
      let upAt = 0;
      child.stdout!.on("data", (chunk: Buffer) => {
        stdout += chunk.toString("utf8");
        if (!upAt && stdout.includes("Sunday API is up")) upAt = now();
        const token = /Dev token: (\S+)\n/.exec(stdout)?.[1];
        if (upAt && token) {
          clearTimeout(timer);
          aborted.signal.removeEventListener("abort", onAbort);
          resolve({ token, banner: /Sunday API is up[^\n]*/.exec(stdout)?.[0] ?? "", at: upAt });
        }
      });
      void exited.then(() => {
        clearTimeout(timer);
        reject(new Error(`npm start exited (${exit?.code ?? exit?.signal}) before "Sunday API is up"`));
      });
    });
    stackPid = stackProcess(child.pid!) ?? 0;
    if (!stackPid) throw new Error("npm start: the Node process of scripts/start.ts was not found under npm");
    return { child, stackPid, token: up.token, gatewayUrl: `http://127.0.0.1:${port}`, upAfterMs: up.at - spawnedAt, banner: up.banner, output, stop };
  } catch (error) {
    console.error(`npm start output:\n${output()}`);
    await stop();
    throw error;
  }
}

// ───────────────────────────── GraphQL ─────────────────────────────

/**
 * `npm start` keeps the gateway's default rate limit, 100 requests a minute and 1000 an hour per
 * user, and the benchmark sends more than that with the one dev token: when an answer says the
 * minute's budget is spent (X-RateLimit-Remaining 0) or refuses a request (429, RATE_LIMITED), the
 * next request waits until the window the gateway names is over. Returns that wait in ms (0: none).
 */
function rateLimitWait(answer: GraphQLAnswer): number {
  const header = (name: string) => {
    const value = answer.headers[name];
    return value === undefined ? undefined : Number(Array.isArray(value) ? value[0] : value);
  };
  const retryAfter = header("retry-after") ?? Number(/retry in (\d+) s/.exec(answer.text)?.[1] ?? NaN);
  const seconds = answer.status === 429 || answer.text.includes('"RATE_LIMITED"') ? retryAfter : header("x-ratelimit-remaining") === 0 ? header("x-ratelimit-reset") : 0;
  if (seconds === undefined || !Number.isFinite(seconds)) return answer.status === 429 ? 60_000 : 0;
  return seconds * 1000 + (seconds > 0 ? 250 : 0);
}
const MAX_RATE_LIMIT_WAIT_MS = 120_000;

const BOARDS = `query BenchStartBoards { boards(first: 20) { nodes { id name viewerCanWrite items(first: 10) { nodes { id version } } } } }`;
const UPDATE = `mutation BenchStartRename($input: UpdateItemInput!) { updateItem(input: $input) { id version } }`;

interface BoardNode {
  id: string;
  name: string;
  viewerCanWrite: boolean;
  items: { nodes: { id: string; version: number }[] } | null;
}

// ───────────────────────────── one mode ─────────────────────────────

interface Sent {
  name: string;
  sentAt: number;
  respondedAt: number;
  receivedAt?: number;
  copies: number;
}

interface ModeResult {
  mode: Mode;
  banner: string;
  upAfterMs: number;
  warmReceived: number;
  sent: number;
  received: number;
  lost: number;
  duplicates: number;
  errors: number;
  foreignEvents: number;
  seconds: number;
  /** Waits for the gateway's rate limit window (warm-up and measured changes). */
  pauses: number;
  pausedMs: number;
  mutation: ReturnType<typeof summary>;
  event: ReturnType<typeof summary>;
}

async function runMode(mode: Mode): Promise<ModeResult> {
  console.log(`\n## ${mode}: ${mode === "embedded" ? "embedded PGlite (temporary PGLITE_DATA_DIR)" : "DATABASE_URL = a fresh PostgreSQL database"}, no Redis, no Kafka\n`);
  const [port = 0, usersPort, projectsPort, itemsPort, integrationsPort] = await freePorts(5);
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    PORT: String(port),
    USERS_PORT: String(usersPort),
    PROJECTS_PORT: String(projectsPort),
    ITEMS_PORT: String(itemsPort),
    INTEGRATIONS_PORT: String(integrationsPort),
    npm_config_update_notifier: "false",
  };
  delete env.DATABASE_URL;
  delete env.REDIS_URL;
  delete env.KAFKA_BROKERS;
  delete env.PGLITE_DATA_DIR;

  let dataDir: string | undefined;
  let database: string | undefined;
  let started: Started | undefined;
  let live: LiveSocket | undefined;
  let closeLive = () => live?.close();
  const agent = new http.Agent({ keepAlive: true, maxSockets: 4 });
  try {
    if (mode === "embedded") {
      dataDir = await mkdtemp(join(tmpdir(), "sunday-bench-start-"));
      env.PGLITE_DATA_DIR = join(dataDir, "pglite");
    } else {
      database = `sunday_bench_start_${process.pid}`;
      env.DATABASE_URL = await createDatabase(database);
    }
    checkAborted();
    started = await startNpm(env, port);
    console.log(`npm start: "Sunday API is up" after ${fmt(started.upAfterMs / 1000, 1)} s wall (pid ${started.stackPid}); banner: ${started.banner}`);
    const { token, gatewayUrl } = started;

    const first = await postGraphQL(agent, gatewayUrl, token, JSON.stringify({ query: BOARDS }));
    const limit = first.headers["x-ratelimit-limit"];
    const answer = JSON.parse(first.text) as { data?: { boards?: { nodes: BoardNode[] } }; errors?: unknown };
    const boards = answer.data?.boards?.nodes ?? [];
    const board = boards.find((b) => b.viewerCanWrite && (b.items?.nodes.length ?? 0) >= 10) ?? boards.find((b) => b.viewerCanWrite && (b.items?.nodes.length ?? 0) > 0);
    if (!board) throw new Error(`no writable board with items: ${JSON.stringify(answer)}`);
    const items = board.items!.nodes.map((item) => item.id);
    const versions = new Map(board.items!.nodes.map((item) => [item.id, item.version]));
    console.log(`board "${board.name}" (${board.id}), ${items.length} items`);

    const byName = new Map<string, Sent>();
    const waiters = new Map<string, () => void>();
    let foreignEvents = 0;
    let errors = 0;
    let closing = false;
    closeLive = () => {
      closing = true;
      live?.close();
    };
    live = await openSubscription({
      url: gatewayUrl,
      token,
      query: BOARD_ACTIVITY,
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
        waiters.get(sent.name)?.();
      },
      onEnd: (why) => {
        if (closing) return;
        errors += 1;
        console.error(`subscription ended: ${why}`);
      },
    });

    let sequence = 0;
    let limitedUntil = 0;
    const pauses: number[] = [];
    /** Waits out the rate limit window the last answer named, if any (between changes, not timed). */
    function paceFor(answer: GraphQLAnswer): void {
      const wait = rateLimitWait(answer);
      if (wait === 0) return;
      if (wait > MAX_RATE_LIMIT_WAIT_MS) throw new Error(`rate limited for ${wait / 1000} s (the hour's budget?): ${answer.text}`);
      limitedUntil = now() + wait;
    }
    async function change(name: string): Promise<Sent> {
      checkAborted();
      const itemId = items[sequence++ % items.length]!;
      const body = JSON.stringify({ query: UPDATE, variables: { input: { id: itemId, expectedVersion: versions.get(itemId), name } } });
      const sent: Sent = { name, sentAt: 0, respondedAt: 0, copies: 0 };
      byName.set(name, sent);
      const arrived = new Promise<void>((resolve) => waiters.set(name, resolve));
      for (;;) {
        if (limitedUntil > now()) {
          const wait = limitedUntil - now();
          pauses.push(wait);
          await sleep(wait);
          checkAborted();
        }
        sent.sentAt = now();
        const answer = await postGraphQL(agent, gatewayUrl, token, body);
        sent.respondedAt = now();
        paceFor(answer);
        const result = JSON.parse(answer.text) as { data?: { updateItem?: { version: number } }; errors?: unknown };
        if (result.data?.updateItem) {
          versions.set(itemId, result.data.updateItem.version);
          break;
        }
        // Refused before it ran (no change, no event): sent again once the window is over.
        if (answer.status === 429 || answer.text.includes('"RATE_LIMITED"')) continue;
        throw new Error(`updateItem failed (${answer.status}): ${answer.text}`);
      }
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([arrived, new Promise<void>((resolve) => (timer = setTimeout(resolve, EVENT_TIMEOUT_MS)))]);
      clearTimeout(timer);
      waiters.delete(name);
      if (GAP_MS > 0) await sleep(GAP_MS);
      return sent;
    }

    const warm: Sent[] = [];
    for (let i = 0; i < WARMUP; i += 1) warm.push(await change(`start-warm-${process.pid}-${mode}-${i}`));
    const warmReceived = warm.filter((s) => s.receivedAt !== undefined).length;
    console.log(`warm-up: ${warmReceived}/${WARMUP} events received (discarded); load average ${loadAverage()}`);

    const t0 = now();
    const sent: Sent[] = [];
    for (let i = 0; i < EVENTS; i += 1) sent.push(await change(`start-lat-${process.pid}-${mode}-${i}`));
    const seconds = (now() - t0) / 1000;
    // One event in flight: each was waited for (or timed out) above; this only lets late copies in.
    await sleep(DUPLICATE_WINDOW_MS);

    const received = sent.filter((s) => s.receivedAt !== undefined);
    const result = {
      mode,
      banner: started.banner,
      upAfterMs: started.upAfterMs,
      warmReceived,
      sent: sent.length,
      received: received.length,
      lost: sent.length - received.length,
      duplicates: [...warm, ...sent].reduce((sum, s) => sum + Math.max(0, s.copies - 1), 0),
      errors,
      foreignEvents,
      seconds,
      pauses: pauses.length,
      pausedMs: pauses.reduce((sum, ms) => sum + ms, 0),
      mutation: summary(sent.map((s) => s.respondedAt - s.sentAt)),
      event: summary(received.map((s) => s.receivedAt! - s.sentAt)),
    };
    console.log(
      `mutation round trip: p50 ${fmt(result.mutation.p50)} ms, p99 ${fmt(result.mutation.p99)} ms; ` +
        `mutation sent -> event received: p50 ${fmt(result.event.p50)} ms, p99 ${fmt(result.event.p99)} ms, max ${fmt(result.event.max)} ms; ` +
        `${result.received}/${result.sent} received, lost ${result.lost}, duplicates ${result.duplicates}, subscription errors ${errors} (${fmt(seconds, 1)} s)`,
    );
    if (result.pauses > 0) {
      console.log(
        `rate limit (the gateway's default under npm start, ${limit ?? "?"} requests a minute per user): ${result.pauses} pause(s) between changes, ${fmt(result.pausedMs / 1000, 1)} s in all (not in the figures)`,
      );
    }
    if (foreignEvents > 0) console.log(`(${foreignEvents} events of the board not sent by this run were ignored)`);
    return result;
  } catch (error) {
    if (started && !aborted.signal.aborted) console.error(`npm start output (tail):\n${started.output()}`);
    throw error;
  } finally {
    closeLive();
    agent.destroy();
    if (started) {
      const stopped = await started.stop();
      const how = `npm start stopped in ${fmt(stopped.ms / 1000, 1)} s, exit ${stopped.code ?? stopped.signal}${stopped.killed ? " (SIGKILL after 15 s)" : ""}`;
      console.log(how);
      if (stopped.code !== 0 || stopped.killed) console.error(`npm start output (tail):\n${started.output()}`);
    }
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
    if (database) await dropDatabase(database).catch((error: unknown) => console.error(`dropping ${database} failed`, error));
  }
}

// ───────────────────────────── main ─────────────────────────────

console.log(
  `npm start latency: modes ${MODES.join(", ")}; ${WARMUP} warm-up + ${EVENTS} changes each, one event in flight, gap ${GAP_MS} ms, event timeout ${EVENT_TIMEOUT_MS} ms; ` +
    `Node ${process.version}; load average ${loadAverage()}`,
);
const results: ModeResult[] = [];
for (const mode of MODES) results.push(await runMode(mode));

console.log(`\n## npm start: mutation sent -> event received (${EVENTS} changes per mode; target p50 <= ${TARGET_P50_MS} ms)\n`);
console.log(
  table(
    ["mode", "up after (s)", "mutation p50 ms", "mutation p99 ms", "event p50 ms", "event p99 ms", "event max ms", "received", "lost", "duplicates", "rate-limit pauses (s)", "target p50 <= 30 ms"],
    results.map((r) => [
      r.mode,
      fmt(r.upAfterMs / 1000, 1),
      fmt(r.mutation.p50),
      fmt(r.mutation.p99),
      fmt(r.event.p50),
      fmt(r.event.p99),
      fmt(r.event.max),
      `${r.received}/${r.sent}`,
      String(r.lost),
      String(r.duplicates),
      r.pauses > 0 ? `${r.pauses} (${fmt(r.pausedMs / 1000, 0)} s)` : "0",
      r.event.p50 <= TARGET_P50_MS ? "met" : "not met",
    ]),
  ),
);
for (const r of results) console.log(`${r.mode}: ${r.banner}`);
if (results.some((r) => r.lost > 0 || r.duplicates > 0 || r.errors > 0)) process.exitCode = 1;
