// Gateway benchmark: our gateway vs stock Apollo Gateway vs Hive Gateway, one at a time, each in
// its own child process, under the same autocannon load. See bench/README.md.
//
//   node bench/gateway/run.ts             in-memory subgraphs: ours, stock Apollo, Hive (dedup off / default)
//   node bench/gateway/run.ts --real      our real subgraphs on a seeded PostgreSQL: ours vs stock Apollo
//   node bench/gateway/run.ts --profile[=key]  one gateway (ours by default) under load, CPU-profiled
//                                                       over the measured window: top self-time functions and packages
//   --only=ours,ours-dedup,ours-compressed,base,apollo,hive,hive-default   run a subset
//   --report=<results.json>                            print an earlier run's report again
//   env: BENCH_DURATION (20) BENCH_CONNECTIONS (50) BENCH_WARMUP (5) BENCH_ROUNDS (1) BENCH_PROFILE_DURATION (10)
//        BENCH_QUIET_WAIT (60) BENCH_QUIET_CORES (0.25) BENCH_NODE_ENV (production) BENCH_OURS_REF (working tree)
//        BENCH_BASE_REF (none: adds a `base` gateway from that git ref, A/B in one run)
//        BENCH_GATEWAY_EXEC_ARGV (none: Node flags for every gateway process, e.g. --max-semi-space-size=64)
//        BENCH_OURS_EXEC_ARGV (none: Node flags for our gateways only, as our production start paths set them)
//        BENCH_JSON=<file> BENCH_ADMIN_DATABASE_URL (TEST_DATABASE_URL, postgresql://postgres@127.0.0.1:5432/postgres)
//        BENCH_COMPRESSION (none: br or gzip adds `ours-compressed`, ours asked with that Accept-Encoding)
//        BENCH_USAGE (none: 1 adds `ours-usage`, ours recording API usage)
import { fork, execFileSync, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { createServer as createHttpServer } from "node:http";
import type { AddressInfo } from "node:net";
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { cpus, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type autocannonType from "autocannon";
import { graphql, rootRequire, sourceImport, sourceRoot } from "./root.ts";
import { DEEP_QUERY, SUBGRAPH_NAMES, TYPE_DEFS } from "./schema.ts";
import { formatProfile, summarizeProfile } from "./profile.ts";
import type { FromChild, ToChild } from "./children/ipc.ts";
import type { JwtSettings } from "../../gateway/src/auth/jwt.ts";
import { machineBusyMs, processCpuMs } from "../lib/proc-cpu.ts";
import { untilReady } from "../lib/child-ready.ts";

const autocannon: typeof autocannonType = await import("autocannon").then(
  (module) => module.default,
  () => {
    console.error("autocannon is missing: run `cd bench && npm install` first (benchmark-only packages live in bench/package.json)");
    process.exit(2);
  },
);

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const args = process.argv.slice(2);
const REAL = args.includes("--real");
const PROFILE_ARG = args.find((arg) => arg === "--profile" || arg.startsWith("--profile="));
const PROFILE = PROFILE_ARG !== undefined;
/** Which gateway --profile profiles (`--profile=apollo` etc.); ours by default. */
const PROFILE_KEY = PROFILE_ARG?.includes("=") ? PROFILE_ARG.slice("--profile=".length) : "ours";
const ONLY = args
  .find((arg) => arg.startsWith("--only="))
  ?.slice("--only=".length)
  .split(",");

function numberEnv(name: string, fallback: number): number {
  const value = Number(process.env[name] ?? fallback);
  if (!Number.isFinite(value) || value < 0) throw new Error(`${name} must be a non-negative number`);
  return value;
}
const DURATION = numberEnv("BENCH_DURATION", 20);
const CONNECTIONS = numberEnv("BENCH_CONNECTIONS", 50);
const WARMUP = numberEnv("BENCH_WARMUP", 5);
const PROFILE_DURATION = numberEnv("BENCH_PROFILE_DURATION", 10);
const GATEWAY_NODE_ENV = process.env.BENCH_NODE_ENV ?? "production";
/** Before each measured window, wait (at most this many seconds) until other processes use less than QUIET_CORES. */
const QUIET_WAIT = numberEnv("BENCH_QUIET_WAIT", 60);
const QUIET_CORES = numberEnv("BENCH_QUIET_CORES", 0.25);
/**
 * Rounds over all gateways (interleaved: a, b, c, a, b, c…). The table shows each figure's median
 * over the rounds, and the ratios are medians of the per-round ratios (paired within a round, so
 * a slow phase of the machine affects both sides).
 */
/** BENCH_GATEWAY_EXEC_ARGV="--max-semi-space-size=64 …": Node/V8 flags for every gateway process (not the subgraphs). */
const GATEWAY_EXEC_ARGV = (process.env.BENCH_GATEWAY_EXEC_ARGV ?? "").split(/\s+/).filter(Boolean);
/**
 * BENCH_OURS_EXEC_ARGV="--max-semi-space-size=64": Node/V8 flags for *our* gateways only (ours,
 * ours-dedup, base), after BENCH_GATEWAY_EXEC_ARGV: the flags our production start paths use
 * (`npm start`, docker-compose), to measure ours as deployed next to the others' defaults.
 */
const OURS_EXEC_ARGV = (process.env.BENCH_OURS_EXEC_ARGV ?? "").split(/\s+/).filter(Boolean);
const isOurs = (key: string) => key === "ours" || key === "ours-dedup" || key === "base" || key === "ours-compressed" || key.startsWith("ours-traced") || key === "ours-usage";
const ROUNDS = Math.max(1, Math.floor(numberEnv("BENCH_ROUNDS", 1)));
/**
 * BENCH_COMPRESSION=br|gzip (1 = br): adds a gateway `ours-compressed`, our gateway as is, loaded
 * with `Accept-Encoding: <that>` so its JSON answers are compressed: next to `ours` (same requests,
 * uncompressed answers) it measures what compression costs in gateway CPU per request.
 */
const COMPRESSION = ((value) => (value === "1" ? "br" : value))(process.env.BENCH_COMPRESSION ?? "");
if (COMPRESSION && COMPRESSION !== "br" && COMPRESSION !== "gzip") throw new Error("BENCH_COMPRESSION must be br, gzip or 1");
/**
 * BENCH_TRACING=1: adds `ours-traced` (OpenTelemetry on, every trace sampled) and
 * `ours-traced-1pct` (1 % sampled), exporting OTLP/HTTP to a sink in this process that accepts and
 * drops the spans: next to `ours` (tracing off) they measure what tracing costs per request.
 */
const TRACING = process.env.BENCH_TRACING === "1";
/** Rows whose window saw more foreign load than this are flagged as noisy. */
const NOISY_CORES = 0.3;

const WORK = mkdtempSync(join(tmpdir(), "sunday-bench-"));
const JWT: JwtSettings = { secret: "bench-jwt-secret-at-least-32-bytes-long", issuer: "sunday-bench", audience: "sunday-api" };
const SIGNING_SECRET = randomBytes(32).toString("hex");

// ───────────────────────────── which version of our code ─────────────────────────────

const git = (...gitArgs: string[]) => execFileSync("git", ["-C", ROOT, ...gitArgs], { encoding: "utf8" }).trim();

/**
 * BENCH_OURS_REF=<git ref>: run our code (gateway, and in --real mode the subgraphs) from a
 * snapshot of that commit (`git archive`, read-only for the repository) instead of the working
 * tree, e.g. to compare HEAD with uncommitted work, or to measure while others are mid-edit.
 */
function prepareSource(): string {
  const ref = process.env.BENCH_OURS_REF;
  let head = "?";
  try {
    head = git("rev-parse", "--short", "HEAD");
  } catch {
    // not a git checkout
  }
  if (!ref) {
    let dirty = 0;
    try {
      dirty = git("status", "--porcelain", "--untracked-files=no").split("\n").filter(Boolean).length;
    } catch {
      // not a git checkout
    }
    return `working tree (HEAD ${head}${dirty ? ` + ${dirty} modified tracked files` : ", clean"})`;
  }
  const { sha, dir } = extractRef(ref);
  process.env.BENCH_SOURCE_ROOT = dir; // read by root.ts here and in every child
  return `git ${ref} (${sha}), extracted to ${dir}`;
}

/** A read-only snapshot of a commit of ours (`git archive`), runnable like the working tree. */
function extractRef(ref: string): { sha: string; dir: string } {
  const sha = git("rev-parse", "--short", `${ref}^{commit}`);
  const dir = join(WORK, `source-${sha}`);
  if (existsSync(dir)) return { sha, dir };
  mkdirSync(dir);
  execFileSync("sh", ["-c", `git -C "${ROOT}" archive "${sha}" | tar -x -C "${dir}"`]);
  symlinkSync(join(ROOT, "node_modules"), join(dir, "node_modules"));
  if (REAL) {
    // the Prisma client must match that commit's schema
    execFileSync(process.execPath, ["prisma/tools/generate.ts", "--force"], { cwd: dir, stdio: "ignore" });
  } else {
    symlinkSync(join(ROOT, "generated"), join(dir, "generated"));
  }
  return { sha, dir };
}

/**
 * BENCH_BASE_REF=<git ref>: one more gateway, `base`, running our gateway from a snapshot of that
 * commit next to `ours` in the same run (interleaved with it in every round): the A/B measure of
 * a change, on the same machine state. In --real mode the subgraphs stay those of `ours`.
 */
function baseGateway(config: Record<string, unknown>): GatewaySpec[] {
  const ref = process.env.BENCH_BASE_REF;
  if (!ref) return [];
  const { sha, dir } = extractRef(ref);
  return [{ key: "base", label: `(a₀) ours at ${ref} (${sha})`, script: "ours.ts", config, env: { BENCH_SOURCE_ROOT: dir } }];
}

/**
 * BENCH_USAGE=1: adds `ours-usage`, our gateway recording API usage (a record per operation into its
 * buffer, flushed each second or 500 records to a sink that JSON-encodes and gzips each batch, the
 * work the Kafka sink's producer does, and drops it): next to `ours` (no usage recorded) it measures
 * what usage analytics costs per request.
 */
const USAGE = process.env.BENCH_USAGE === "1";
function usageGateway(config: Record<string, unknown>): GatewaySpec[] {
  if (!USAGE) return [];
  return [{ key: "ours-usage", label: "(a⁗′) ours, API usage recorded (batches JSON + gzip, dropped)", script: "ours.ts", config: { ...config, usage: true } }];
}

/** `ours-compressed` (with BENCH_COMPRESSION): the same gateway as `ours`, asked for compressed answers. */
/** The OTLP sink of BENCH_TRACING: answers every export 200 and keeps only a byte count. */
let traceSink: { url: string; bytes: number } | undefined;
async function tracedGateways(config: Record<string, unknown>): Promise<GatewaySpec[]> {
  if (!TRACING) return [];
  if (!traceSink) {
    const sink = { url: "", bytes: 0 };
    const server = createHttpServer((request, response) => {
      request.on("data", (chunk: Buffer) => (sink.bytes += chunk.length));
      request.on("end", () => response.writeHead(200, { "content-type": "application/json" }).end("{}"));
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    server.unref();
    sink.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    traceSink = sink;
  }
  const endpoint = traceSink.url;
  return [
    { key: "ours-traced", label: "(a‴) ours, tracing on, 100 % sampled (OTLP/HTTP)", script: "ours.ts", config: { ...config, tracing: { endpoint, ratio: 1 } } },
    { key: "ours-traced-1pct", label: "(a⁗) ours, tracing on, 1 % sampled", script: "ours.ts", config: { ...config, tracing: { endpoint, ratio: 0.01 } } },
  ];
}

function compressedGateway(config: Record<string, unknown>): GatewaySpec[] {
  if (!COMPRESSION) return [];
  return [{ key: "ours-compressed", label: `(a″) ours, Accept-Encoding: ${COMPRESSION}`, script: "ours.ts", config, acceptEncoding: COMPRESSION }];
}

async function mintToken(identity: { userId: string; organizationId: string; role: "OWNER" }): Promise<string> {
  const jwt = await sourceImport<typeof import("../../gateway/src/auth/jwt.ts")>("gateway/src/auth/jwt.ts");
  return jwt.mintToken(identity, JWT as never);
}

// ───────────────────────────── child processes ─────────────────────────────

interface Child {
  readonly name: string;
  readonly pid: number;
  readonly url: string;
  readonly info: Record<string, unknown>;
  readonly log: string;
  stats(): Promise<number>;
  profileStart(): void;
  /** Writes the window's CPU profile to `path`; resolves with the path, or null. */
  profileStop(path: string): Promise<string | null>;
  stop(): Promise<void>;
}

const live = new Set<ChildProcess>();

function tail(file: string, lines = 30): string {
  try {
    return readFileSync(file, "utf8").split("\n").slice(-lines).join("\n");
  } catch {
    return "";
  }
}

/** Forks `children/<script>` with Node's own TypeScript support; resolves when it reports ready. Output goes to a log file. */
async function startChild(name: string, script: string, config: unknown, options: { execArgv?: string[]; env?: Record<string, string> } = {}): Promise<Child> {
  const log = join(WORK, `${name}.log`);
  const fd = openSync(log, "a");
  const child = fork(fileURLToPath(new URL(`./children/${script}`, import.meta.url)), [], {
    cwd: ROOT,
    execArgv: [...(options.execArgv ?? [])],
    env: { ...process.env, LOG_LEVEL: process.env.LOG_LEVEL ?? "warn", ...options.env, BENCH_CHILD_CONFIG: JSON.stringify(config) },
    stdio: ["ignore", fd, fd, "ipc"],
  });
  closeSync(fd);
  live.add(child);
  const exited = new Promise<void>((resolve) =>
    child.once("exit", () => {
      live.delete(child);
      resolve();
    }),
  );
  const ready = await untilReady<Extract<FromChild, { type: "ready" }>>(child, name, 90_000, () => `\n${tail(log)}`);
  const send = (message: ToChild) => child.send(message);
  return {
    name,
    pid: child.pid!,
    url: ready.url,
    info: ready.info ?? {},
    log,
    stats: () =>
      new Promise<number>((resolve) => {
        const onMessage = (message: FromChild) => {
          if (message.type !== "stats") return;
          child.off("message", onMessage);
          resolve(message.requests);
        };
        child.on("message", onMessage);
        send({ type: "stats" });
      }),
    profileStart: () => send({ type: "profile-start" }),
    profileStop: (path) =>
      new Promise<string | null>((resolve) => {
        const onMessage = (message: FromChild) => {
          if (message.type !== "profiled") return;
          child.off("message", onMessage);
          if (message.error) console.error(`${name}: profile failed: ${message.error}`);
          resolve(message.path);
        };
        child.on("message", onMessage);
        send({ type: "profile-stop", path });
      }),
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      send({ type: "stop" });
      const killer = setTimeout(() => child.kill("SIGKILL"), 10_000);
      await exited;
      clearTimeout(killer);
    },
  };
}

function killAll() {
  for (const child of live) child.kill("SIGKILL");
}
process.on("exit", killAll);
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.on(signal, () => {
    killAll();
    process.exit(130);
  });
}

// ───────────────────────────── CPU accounting (Linux /proc) ─────────────────────────────

/** --real: the database name, so that its PostgreSQL backends count as subgraph CPU, not "other". */
let benchDatabase: string | null = null;

/** CPU of the PostgreSQL backends serving `benchDatabase` (their title names the database), in ms. */
function databaseCpuMs(): number {
  if (!benchDatabase) return 0;
  let total = 0;
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const title = readFileSync(`/proc/${entry}/cmdline`, "utf8");
      if (title.startsWith("postgres:") && title.includes(` ${benchDatabase} `)) total += processCpuMs(Number(entry));
    } catch {
      // gone meanwhile
    }
  }
  return total;
}

interface Snapshot {
  gateway: number;
  subgraphs: number;
  runner: number;
  machine: number;
  fetches: number;
  at: number;
}

async function snapshot(gateway: Child, subgraphs: readonly Child[]): Promise<Snapshot> {
  const fetches = (await Promise.all(subgraphs.map((child) => child.stats()))).reduce((a, b) => a + b, 0);
  const usage = process.cpuUsage();
  return {
    gateway: processCpuMs(gateway.pid),
    subgraphs: subgraphs.reduce((sum, child) => sum + processCpuMs(child.pid), 0) + databaseCpuMs(),
    runner: (usage.user + usage.system) / 1000,
    machine: machineBusyMs(),
    fetches,
    at: performance.now(),
  };
}

/**
 * Waits until the gateway has finished the requests autocannon abandoned when it stopped (up to one
 * per connection, still being executed): they would otherwise be charged to the next window.
 */
async function drain(gateway: Child, maxSeconds = 30): Promise<number> {
  const started = performance.now();
  let last = processCpuMs(gateway.pid);
  let quietSamples = 0;
  while (quietSamples < 2 && performance.now() - started < maxSeconds * 1000) {
    await sleep(250);
    const now = processCpuMs(gateway.pid);
    quietSamples = now - last <= 10 ? quietSamples + 1 : 0; // under 4 % of a core
    last = now;
  }
  return (performance.now() - started) / 1000;
}

/** Cores used by processes other than ours over one second (the machine is shared: others run tests). */
async function foreignCores(gateway: Child, subgraphs: readonly Child[]): Promise<number> {
  const before = await snapshot(gateway, subgraphs);
  await sleep(1_000);
  const after = await snapshot(gateway, subgraphs);
  const d = (key: keyof Snapshot) => after[key] - before[key];
  return Math.max(0, d("machine") - d("gateway") - d("subgraphs") - d("runner")) / (after.at - before.at);
}

/** Waits until the machine is quiet, or QUIET_WAIT seconds; returns the seconds waited. */
async function waitForQuiet(gateway: Child, subgraphs: readonly Child[]): Promise<{ waited: number; foreign: number }> {
  const started = performance.now();
  let foreign = await foreignCores(gateway, subgraphs);
  while (foreign > QUIET_CORES && performance.now() - started < QUIET_WAIT * 1000) {
    foreign = await foreignCores(gateway, subgraphs);
  }
  return { waited: (performance.now() - started) / 1000, foreign };
}

// ───────────────────────────── requests ─────────────────────────────

interface Workload {
  body: string;
  headers: Record<string, string>;
}

async function post(url: string, workload: Workload): Promise<{ status: number; text: string }> {
  const response = await fetch(url, { method: "POST", headers: workload.headers, body: workload.body });
  return { status: response.status, text: await response.text() };
}

/** JSON with sorted keys: equal for equal content whatever the key order. */
function canonical(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    v && typeof v === "object" && !Array.isArray(v) ? Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) : v,
  );
}

interface Verified {
  text: string;
  bytes: number;
  /** Same bytes as the reference gateway's answer (not only the same JSON). */
  byteIdentical: boolean;
  /** Two answers in a row had the same bytes, so autocannon can compare every body with it. */
  deterministic: boolean;
}

let reference: { text: string; canonical: string; from: string } | null = null;

async function verify(gateway: Child, workload: Workload): Promise<Verified> {
  const first = await post(gateway.url, workload);
  const second = await post(gateway.url, workload);
  if (first.status !== 200) throw new Error(`HTTP ${first.status}: ${first.text.slice(0, 500)}`);
  const parsed = JSON.parse(first.text) as { data?: unknown; errors?: unknown[] };
  if (parsed.errors?.length) throw new Error(`errors in the answer: ${JSON.stringify(parsed.errors).slice(0, 800)}`);
  if (!parsed.data) throw new Error(`no data in the answer: ${first.text.slice(0, 500)}`);
  const form = canonical(parsed);
  if (!reference) reference = { text: first.text, canonical: form, from: gateway.name };
  else if (form !== reference.canonical) {
    const file = join(WORK, `${gateway.name}.answer.json`);
    writeFileSync(file, first.text);
    throw new Error(`answer differs from ${reference.from}'s (saved to ${file})`);
  }
  return {
    text: first.text,
    bytes: Buffer.byteLength(first.text),
    byteIdentical: first.text === reference.text,
    deterministic: first.text === second.text,
  };
}

async function load(url: string, workload: Workload, seconds: number, expectBody?: string): Promise<autocannonType.Result> {
  return autocannon({
    url,
    method: "POST",
    headers: workload.headers,
    body: workload.body,
    connections: CONNECTIONS,
    duration: seconds,
    timeout: 30,
    ...(expectBody ? { expectBody } : {}),
  });
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

// ───────────────────────────── one gateway ─────────────────────────────

interface GatewaySpec {
  key: string;
  label: string;
  script: string;
  config: unknown;
  /** Extra environment of the gateway's process (BENCH_SOURCE_ROOT for `base`). */
  env?: Record<string, string>;
  /** Sent as Accept-Encoding with every request (BENCH_COMPRESSION); answers are then not byte-compared. */
  acceptEncoding?: string;
}

interface Row {
  key: string;
  label: string;
  ok: boolean;
  round?: number;
  /** In a median row: the number of rounds it summarises, and the spread of RPS and CPU per request. */
  rounds?: number;
  rpsRange?: [number, number];
  noisyRoundsDropped?: number;
  cpuRange?: [number, number];
  failure?: string;
  rps?: number;
  p50?: number;
  p99?: number;
  requests?: number;
  /** Requests sent in the window (completed + in flight at its end). */
  sent?: number;
  errors?: number;
  timeouts?: number;
  non2xx?: number;
  mismatches?: number;
  bodyChecked?: boolean;
  answerBytes?: number;
  /** Response bytes on the wire per request (headers included), as autocannon counted them. */
  wireBytesPerRequest?: number;
  byteIdentical?: boolean;
  gatewayCpuMsPerRequest?: number;
  gatewayCores?: number;
  fetchesPerRequest?: number;
  subgraphCpuMsPerRequest?: number;
  runnerCores?: number;
  otherCores?: number;
  loadavgBefore?: number;
  /** What the child reported about its configuration. */
  settings?: Record<string, unknown>;
  /** Cores other processes used just before the warm-up. */
  foreignBefore?: number;
  profile?: string;
}

async function benchGateway(spec: GatewaySpec, subgraphs: readonly Child[], setupWorkload: Workload, profile: boolean): Promise<Row> {
  const row: Row = { key: spec.key, label: spec.label, ok: false };
  const workload = spec.acceptEncoding ? { ...setupWorkload, headers: { ...setupWorkload.headers, "accept-encoding": spec.acceptEncoding } } : setupWorkload;
  const started = performance.now();
  process.stdout.write(`\n[${spec.key}] starting… `);
  let gateway: Child | null = null;
  try {
    gateway = await startChild(spec.key, spec.script, spec.config, {
      env: { NODE_ENV: GATEWAY_NODE_ENV, ...spec.env },
      execArgv: isOurs(spec.key) ? [...GATEWAY_EXEC_ARGV, ...OURS_EXEC_ARGV] : GATEWAY_EXEC_ARGV,
    });
    process.stdout.write(`pid ${gateway.pid} at ${gateway.url} in ${((performance.now() - started) / 1000).toFixed(1)} s; `);
    if (Object.keys(gateway.info).length > 0) {
      row.settings = gateway.info;
      process.stdout.write(`settings ${JSON.stringify(gateway.info)}; `);
    }
    process.stdout.write("verifying… ");
    const verified = await verify(gateway, workload);
    row.answerBytes = verified.bytes;
    row.byteIdentical = verified.byteIdentical;
    row.bodyChecked = verified.deterministic;
    process.stdout.write(`ok (${verified.bytes} B${verified.byteIdentical ? ", byte-identical" : ", same JSON"}); `);
    const quiet = await waitForQuiet(gateway, subgraphs);
    if (quiet.waited > 1.5) process.stdout.write(`waited ${quiet.waited.toFixed(0)} s for other load (now ${quiet.foreign.toFixed(2)} cores); `);
    row.foreignBefore = quiet.foreign;
    if (WARMUP > 0) {
      process.stdout.write(`warm-up ${WARMUP} s… `);
      await load(gateway.url, workload, WARMUP);
      await drain(gateway);
    }
    row.loadavgBefore = loadavg()[0];
    const seconds = profile ? PROFILE_DURATION : DURATION;
    process.stdout.write(`measuring ${seconds} s… `);
    if (profile) gateway.profileStart();
    const before = await snapshot(gateway, subgraphs);
    // A compressed answer is not the verified text byte for byte: only its status is checked under load.
    const expectBody = verified.deterministic && !spec.acceptEncoding ? verified.text : undefined;
    if (spec.acceptEncoding) row.bodyChecked = false;
    const result = await load(gateway.url, workload, seconds, expectBody);
    const loadEnded = performance.now();
    const gatewayCpuAtLoadEnd = processCpuMs(gateway.pid);
    // (the profile covers the load only: the sampler's own CPU would keep drain() waiting)
    if (profile) row.profile = (await gateway.profileStop(join(WORK, `${spec.key}.cpuprofile`))) ?? undefined;
    await drain(gateway);
    const after = await snapshot(gateway, subgraphs);
    const wallMs = loadEnded - before.at;
    const requests = result.requests.total;
    // CPU and fetches are charged to every request sent in the window: the completed ones and the
    // ones still in flight when the load stopped, which the gateway finished before `after`.
    const sent = result.requests.sent;
    const d = (key: keyof Snapshot) => after[key] - before[key];
    Object.assign(row, {
      ok: true,
      requests,
      rps: requests / result.duration,
      p50: result.latency.p50,
      p99: result.latency.p99,
      errors: result.errors,
      timeouts: result.timeouts,
      non2xx: result.non2xx,
      mismatches: result.mismatches,
      sent,
      wireBytesPerRequest: requests > 0 ? result.throughput.total / requests : undefined,
      gatewayCpuMsPerRequest: sent > 0 ? d("gateway") / sent : undefined,
      gatewayCores: (gatewayCpuAtLoadEnd - before.gateway) / wallMs,
      fetchesPerRequest: sent > 0 && subgraphs.length > 0 ? d("fetches") / sent : undefined,
      subgraphCpuMsPerRequest: sent > 0 && subgraphs.length > 0 ? d("subgraphs") / sent : undefined,
      runnerCores: d("runner") / (after.at - before.at),
      otherCores: Math.max(0, d("machine") - d("gateway") - d("subgraphs") - d("runner")) / (after.at - before.at),
    } satisfies Partial<Row>);
    process.stdout.write(`${row.rps!.toFixed(1)} RPS`);
  } catch (error) {
    row.failure = error instanceof Error ? error.message : String(error);
    process.stdout.write(`FAILED: ${row.failure}`);
  } finally {
    await gateway?.stop();
  }
  await sleep(1_000); // let sockets close and the machine settle before the next gateway
  return row;
}

// ───────────────────────────── setups ─────────────────────────────

interface Setup {
  title: string;
  subgraphs: Child[];
  gateways: GatewaySpec[];
  workload: Workload;
  describe: string[];
  dispose(): Promise<void>;
}

async function inMemorySetup(): Promise<Setup> {
  const { composeServices } = rootRequire("@apollo/composition") as typeof import("@apollo/composition");
  const subgraphs = await Promise.all(SUBGRAPH_NAMES.map((name) => startChild(`subgraph-${name}`, "subgraph.ts", { name })));
  const subgraphUrls = Object.fromEntries(SUBGRAPH_NAMES.map((name, i) => [name, subgraphs[i]!.url]));
  const composed = composeServices(SUBGRAPH_NAMES.map((name) => ({ name, url: subgraphUrls[name], typeDefs: graphql.parse(TYPE_DEFS[name]) })));
  if (composed.errors) throw new Error(`composition failed: ${composed.errors.map((e) => e.message).join("; ")}`);
  const supergraphPath = join(WORK, "supergraph.graphql");
  writeFileSync(supergraphPath, composed.supergraphSdl);
  const token = await mintToken({ userId: "bench-user", organizationId: "bench-org", role: "OWNER" });
  return {
    title: "in-memory subgraphs (accounts / products / inventory / reviews), deep query",
    subgraphs,
    workload: {
      body: JSON.stringify({ query: DEEP_QUERY, operationName: "Deep" }),
      headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
    },
    gateways: [
      { key: "ours", label: "(a) ours: startGateway", script: "ours.ts", config: { supergraphPath, subgraphUrls, signingSecret: SIGNING_SECRET, jwt: JWT } },
      ...compressedGateway({ supergraphPath, subgraphUrls, signingSecret: SIGNING_SECRET, jwt: JWT }),
      ...(await tracedGateways({ supergraphPath, subgraphUrls, signingSecret: SIGNING_SECRET, jwt: JWT })),
      ...usageGateway({ supergraphPath, subgraphUrls, signingSecret: SIGNING_SECRET, jwt: JWT }),
      ...baseGateway({ supergraphPath, subgraphUrls, signingSecret: SIGNING_SECRET, jwt: JWT }),
      {
        key: "ours-dedup",
        label: "(a′) ours, federation.deduplicateQueries on",
        script: "ours.ts",
        config: { supergraphPath, subgraphUrls, signingSecret: SIGNING_SECRET, jwt: JWT, deduplicateQueries: true },
      },
      { key: "apollo", label: "(b) stock @apollo/gateway + standalone", script: "apollo.ts", config: { supergraphPath } },
      { key: "hive", label: "(c) Hive Gateway, outbound dedup OFF", script: "hive.ts", config: { supergraphPath, outboundDedup: false } },
      { key: "hive-default", label: "(c′) Hive Gateway, defaults (dedup ON)", script: "hive.ts", config: { supergraphPath, outboundDedup: "default" } },
    ],
    describe: [
      `subgraphs: 4 child processes (${SUBGRAPH_NAMES.join(", ")}), buildSubgraphSchema + graphql-js execute behind node:http`,
      `supergraph: composed at run time with @apollo/composition (${supergraphPath})`,
    ],
    async dispose() {
      await Promise.all(subgraphs.map((child) => child.stop()));
    },
  };
}

/** A board with 100 items, their group, assignees and column values (the shape of test/operations' BoardWithItems). */
const BOARD_QUERY = `query BoardWithItems($id: ID!, $first: Int) {
  board(id: $id) {
    id name version
    groups { id name }
    columns { id title type }
    items(first: $first) {
      pageInfo { hasNextPage endCursor }
      nodes {
        id name version
        group { id name }
        assignees { id name }
        columnValues { column { id title type } value }
      }
    }
  }
}`;

async function realSetup(): Promise<Setup> {
  const pg = rootRequire("pg") as typeof import("pg");
  const { migrate } = await sourceImport<typeof import("../../prisma/tools/migrate.ts")>("prisma/tools/migrate.ts");
  const { seedDemo } = await sourceImport<typeof import("../../prisma/seed.ts")>("prisma/seed.ts");
  const { createPrisma } = await sourceImport<typeof import("../../platform/db.ts")>("platform/db.ts");
  const adminUrl = process.env.BENCH_ADMIN_DATABASE_URL ?? process.env.TEST_DATABASE_URL ?? "postgresql://postgres@127.0.0.1:5432/postgres";
  const database = `sunday_bench_${process.pid}`;
  benchDatabase = database;
  const admin = async (sql: string) => {
    const client = new pg.Client({ connectionString: adminUrl });
    await client.connect();
    try {
      await client.query(sql);
    } finally {
      await client.end();
    }
  };
  const dropDatabase = () => admin(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
  await dropDatabase();
  await admin(`CREATE DATABASE ${database}`);
  const url = new URL(adminUrl);
  url.pathname = `/${database}`;
  const databaseUrl = url.toString();
  let subgraphs: Child[] = [];
  try {
    process.stdout.write(`database ${database}: migrating… `);
    await migrate(databaseUrl);
    process.stdout.write("seeding (100 items per board)… ");
    const prisma = createPrisma({ url: databaseUrl, poolMax: 2 });
    const seed = await seedDemo(prisma, { itemsPerBoard: 100 });
    await prisma.$disconnect();
    const acme = seed.organizations[0];
    const board = acme.boards[0];
    process.stdout.write("starting the subgraphs (startStack)… ");
    const host = await startChild("real-subgraphs", "real-subgraphs.ts", {
      databaseUrl,
      signingSecret: SIGNING_SECRET,
      jwt: JWT,
      poolMax: 10,
    });
    subgraphs = [host];
    const subgraphUrls = host.info.subgraphUrls as Record<string, string>;
    console.log(`ready (${String(host.info.started)})`);
    const token = await mintToken({ userId: acme.userIdsByRole.OWNER, organizationId: acme.id, role: "OWNER" });
    const supergraphPath = join(sourceRoot(), "supergraph.graphql");
    const signed = { signingSecret: SIGNING_SECRET, jwt: JWT, subgraphUrls };
    return {
      title: `our real subgraphs on PostgreSQL (seeded), board with ${board.itemIds.length} items`,
      subgraphs,
      workload: {
        body: JSON.stringify({ query: BOARD_QUERY, variables: { id: board.id, first: 100 }, operationName: "BoardWithItems" }),
        headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
      },
      gateways: [
        { key: "ours", label: "(a) ours: startGateway", script: "ours.ts", config: { supergraphPath, subgraphUrls, signingSecret: SIGNING_SECRET, jwt: JWT } },
        ...compressedGateway({ supergraphPath, subgraphUrls, signingSecret: SIGNING_SECRET, jwt: JWT }),
        ...(await tracedGateways({ supergraphPath, subgraphUrls, signingSecret: SIGNING_SECRET, jwt: JWT })),
        ...(await tracedGateways({ supergraphPath, subgraphUrls, signingSecret: SIGNING_SECRET, jwt: JWT })),
        ...baseGateway({ supergraphPath, subgraphUrls, signingSecret: SIGNING_SECRET, jwt: JWT }),
        { key: "apollo", label: "(b) stock @apollo/gateway + standalone, signing wrapper over its default fetcher", script: "apollo.ts", config: { supergraphPath, signed } },
      ],
      describe: [
        `subgraphs: users, projects, items, integrations in ONE child process, Prisma pool 10 each; started with ${String(host.info.started)}`,
        `database: ${database} on ${new URL(adminUrl).host} (migrated with prisma/tools/migrate.ts, seeded with seedDemo itemsPerBoard 100), dropped at the end`,
        `"subgraph CPU" includes the PostgreSQL backends serving ${database}`,
      ],
      async dispose() {
        await Promise.all(subgraphs.map((child) => child.stop()));
        await dropDatabase();
      },
    };
  } catch (error) {
    await Promise.all(subgraphs.map((child) => child.stop()));
    await dropDatabase();
    throw error;
  }
}

// ───────────────────────────── report ─────────────────────────────

const fixed = (value: number | undefined, digits = 1) => (value === undefined ? "–" : value.toFixed(digits));

function table(rows: readonly Row[]): string {
  const lines = [
    "| gateway | RPS | p50 ms | p99 ms | errors / timeouts / non-2xx / bad body | gateway CPU ms/req | gateway cores | subgraph fetches/req | subgraph CPU ms/req | runner cores | other cores |",
    "|---|---|---|---|---|---|---|---|---|---|---|",
  ];
  for (const row of rows) {
    if (!row.ok) {
      lines.push(`| ${row.label} | FAILED: ${(row.failure ?? "").split("\n")[0]} | | | | | | | | | |`);
      continue;
    }
    const bad = row.bodyChecked ? String(row.mismatches) : "unchecked";
    const noisy = isNoisy(row) ? " ⚠ noisy" : row.noisyRoundsDropped ? ` (${row.noisyRoundsDropped} noisy round left out)` : "";
    const rpsText = row.rpsRange ? `${fixed(row.rps)} (${fixed(row.rpsRange[0])}–${fixed(row.rpsRange[1])})` : fixed(row.rps);
    const cpuText = row.cpuRange ? `${fixed(row.gatewayCpuMsPerRequest, 1)} (${fixed(row.cpuRange[0], 1)}–${fixed(row.cpuRange[1], 1)})` : fixed(row.gatewayCpuMsPerRequest, 2);
    lines.push(
      `| ${row.label}${noisy} | ${rpsText} | ${fixed(row.p50, 0)} | ${fixed(row.p99, 0)} | ${row.errors} / ${row.timeouts} / ${row.non2xx} / ${bad} | ${cpuText} | ${fixed(row.gatewayCores, 2)} | ${fixed(row.fetchesPerRequest, 1)} | ${fixed(row.subgraphCpuMsPerRequest, 2)} | ${fixed(row.runnerCores, 2)} | ${fixed(row.otherCores, 2)} |`,
    );
  }
  return lines.join("\n");
}

const median = (values: readonly number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
};

const MEDIAN_FIELDS = ["rps", "p50", "p99", "gatewayCpuMsPerRequest", "gatewayCores", "fetchesPerRequest", "subgraphCpuMsPerRequest", "runnerCores"] as const;
const SUM_FIELDS = ["requests", "sent", "errors", "timeouts", "non2xx", "mismatches"] as const;

const isNoisy = (row: Row) => (row.otherCores ?? 0) > NOISY_CORES;

/** Quiet rounds when there are any: a noisy window only measures the neighbours. */
function preferQuiet<T>(items: readonly T[], noisy: (item: T) => boolean): { items: readonly T[]; dropped: number } {
  const quiet = items.filter((item) => !noisy(item));
  return quiet.length > 0 ? { items: quiet, dropped: items.length - quiet.length } : { items, dropped: 0 };
}

/** One row per gateway: the median of each figure over its successful (quiet, if any) rounds. */
function medianRow(rounds: readonly Row[]): Row {
  const succeeded = rounds.filter((row) => row.ok);
  const { items: ok, dropped } = preferQuiet(succeeded, isNoisy);
  if (ok.length === 0) return rounds[rounds.length - 1]!;
  if (ok.length === 1 && rounds.length === 1) return ok[0]!;
  const row: Row = { ...ok[0]!, round: undefined, rounds: ok.length, noisyRoundsDropped: dropped };
  for (const field of MEDIAN_FIELDS) {
    const values = ok.map((r) => r[field]).filter((v): v is number => typeof v === "number");
    row[field] = values.length ? median(values) : undefined;
  }
  for (const field of SUM_FIELDS) row[field] = ok.reduce((sum, r) => sum + (r[field] ?? 0), 0);
  row.otherCores = Math.max(...ok.map((r) => r.otherCores ?? 0)); // the noisiest window, for the flag
  row.bodyChecked = ok.every((r) => r.bodyChecked);
  row.rpsRange = [Math.min(...ok.map((r) => r.rps!)), Math.max(...ok.map((r) => r.rps!))];
  row.cpuRange = [Math.min(...ok.map((r) => r.gatewayCpuMsPerRequest ?? Infinity)), Math.max(...ok.map((r) => r.gatewayCpuMsPerRequest ?? 0))];
  if (rounds.length > ok.length) row.failure = `${rounds.length - ok.length} round(s) failed`;
  return row;
}

/** Ratios of ours to each other gateway: per round, then the median over rounds. */
function ratios(allRounds: readonly Row[]): string[] {
  const out: string[] = [];
  const roundNumbers = [...new Set(allRounds.map((row) => row.round ?? 1))];
  for (const [mine, key, name] of [
    ["ours", "base", "(a)/(a₀) vs our base ref"],
    ["ours-compressed", "ours", "(a″)/(a) answers compressed vs not"],
    ["ours-traced", "ours", "(a‴)/(a) tracing 100 % vs off"],
    ["ours-traced-1pct", "ours", "(a⁗)/(a) tracing 1 % vs off"],
    ["ours", "apollo", "(a)/(b) vs stock Apollo"],
    ["ours", "hive", "(a)/(c) vs Hive, dedup off"],
    ["ours", "hive-default", "(a)/(c′) vs Hive defaults"],
    ["ours-dedup", "apollo", "(a′)/(b) dedup on vs stock Apollo"],
    ["ours-dedup", "hive", "(a′)/(c) dedup on vs Hive, dedup off"],
    ["ours-dedup", "hive-default", "(a′)/(c′) dedup on vs Hive defaults (both merge)"],
  ] as const) {
    const pairs = roundNumbers
      .map((round) => {
        const find = (k: string) => allRounds.find((row) => (row.round ?? 1) === round && row.key === k && row.ok);
        return [find(mine), find(key)] as const;
      })
      .filter((pair): pair is readonly [Row, Row] => Boolean(pair[0] && pair[1]));
    if (pairs.length === 0) continue;
    const { items: quietPairs, dropped } = preferQuiet(pairs, ([ours, other]) => isNoisy(ours) || isNoisy(other));
    const ratio = (field: "rps" | "p50" | "p99" | "gatewayCpuMsPerRequest") => median(quietPairs.map(([ours, other]) => ours[field]! / other[field]!));
    const rpsRatios = pairs.map(([ours, other]) => `${(ours.rps! / other.rps!).toFixed(2)}${isNoisy(ours) || isNoisy(other) ? " (noisy)" : ""}`);
    out.push(
      `${name}: RPS ${ratio("rps").toFixed(2)}×, p50 ${ratio("p50").toFixed(2)}×, p99 ${ratio("p99").toFixed(2)}×, ` +
        `gateway CPU per request ${ratio("gatewayCpuMsPerRequest").toFixed(2)}× (below 1 = ours cheaper)` +
        (pairs.length > 1 ? `; median of ${quietPairs.length} round(s)${dropped ? `, ${dropped} noisy one(s) left out` : ""} (RPS ratio per round: ${rpsRatios.join(", ")})` : ""),
    );
  }
  return out;
}

// ───────────────────────────── main ─────────────────────────────

/** Prints the table, the answer check and the ratios. */
function report(rows: readonly Row[], allRounds: readonly Row[], rounds: number): void {
  if (rows.some((row) => row.rounds)) console.log(`medians over ${rounds} interleaved rounds (min–max in brackets)`);
  console.log(table(rows));
  console.log("");
  const answer = rows.find((row) => row.ok);
  if (answer) {
    console.log(
      `answer: ${answer.answerBytes} bytes; every gateway verified to return the same JSON, without errors, before its load` +
        (rows.every((row) => !row.ok || row.byteIdentical) ? " (byte-identical)" : ""),
    );
  }
  for (const line of ratios(allRounds)) console.log(line);
  const wire = rows.filter((row) => row.ok && row.wireBytesPerRequest !== undefined);
  if (wire.some((row) => row.key === "ours-compressed")) {
    console.log(`bytes on the wire per answer (headers included): ${wire.map((row) => `${row.key} ${Math.round(row.wireBytesPerRequest!)}`).join(", ")}`);
  }
  if (rows.some(isNoisy)) {
    console.log(
      `⚠ noisy: other processes used more than ${NOISY_CORES} cores during that window (this machine is shared); ` +
        "its RPS and latency are understated, its CPU per request less so. Re-run, or raise BENCH_ROUNDS.",
    );
  }
}

/** `--report=<results.json>`: prints the report of an earlier run again (with this version's summary rules). */
function reprint(file: string): number {
  rmSync(WORK, { recursive: true, force: true });
  const saved = JSON.parse(readFileSync(file, "utf8")) as { startedAt: string; mode: string; rounds: number; allRounds: Row[]; rows: Row[] };
  const keys = [...new Set(saved.allRounds.map((row) => row.key))];
  const rows = keys.map((key) => medianRow(saved.allRounds.filter((row) => row.key === key)));
  console.log(`gateway benchmark ${saved.mode}, ${saved.startedAt} (from ${file})\n`);
  report(rows, saved.allRounds, saved.rounds);
  return 0;
}

async function main(): Promise<number> {
  const startedAt = new Date();
  const versionIn = (modules: string, name: string, missing = "?") => {
    try {
      return (JSON.parse(readFileSync(join(modules, name, "package.json"), "utf8")) as { version: string }).version;
    } catch {
      return missing;
    }
  };
  const version = (name: string) => versionIn(join(ROOT, "node_modules"), name);
  const hiveVersion = versionIn(join(ROOT, "bench", "node_modules"), "@graphql-hive/gateway", "not installed (cd bench && npm install)");
  console.log(`gateway benchmark ${REAL ? "--real" : "(in-memory)"}${PROFILE ? " --profile" : ""}, ${startedAt.toISOString()}`);
  console.log(
    `machine: ${cpus().length} cores (${cpus()[0]?.model ?? "?"}), Node ${process.version}; ` +
      `@apollo/gateway ${version("@apollo/gateway")}, @apollo/server ${version("@apollo/server")}, @graphql-hive/gateway ${hiveVersion}, graphql ${version("graphql")}`,
  );
  console.log(
    `load: autocannon, ${CONNECTIONS} connections, warm-up ${WARMUP} s (discarded), measured ${PROFILE ? PROFILE_DURATION : DURATION} s; gateways one at a time, NODE_ENV=${GATEWAY_NODE_ENV}${GATEWAY_EXEC_ARGV.length ? `, gateway flags ${GATEWAY_EXEC_ARGV.join(" ")}` : ""}${OURS_EXEC_ARGV.length ? `, flags of ours only ${OURS_EXEC_ARGV.join(" ")}` : ""}; work dir ${WORK}`,
  );

  console.log(`our code: ${prepareSource()}`);
  const setup = REAL ? await realSetup() : await inMemorySetup();
  const rows: Row[] = [];
  const allRounds: Row[] = [];
  try {
    console.log(`setup: ${setup.title}`);
    for (const line of setup.describe) console.log(`  ${line}`);
    let gateways = setup.gateways;
    if (PROFILE) gateways = gateways.filter((spec) => spec.key === PROFILE_KEY);
    else if (ONLY) gateways = gateways.filter((spec) => ONLY.includes(spec.key));
    const all: Row[] = [];
    const rounds = PROFILE ? 1 : ROUNDS;
    for (let round = 1; round <= rounds; round++) {
      if (rounds > 1) process.stdout.write(`\n— round ${round} of ${rounds}`);
      for (const spec of gateways) all.push({ ...(await benchGateway(spec, setup.subgraphs, setup.workload, PROFILE)), round });
    }
    for (const spec of gateways) rows.push(medianRow(all.filter((row) => row.key === spec.key)));
    allRounds.push(...all);
  } finally {
    await setup.dispose();
  }

  console.log("\n");
  report(rows, allRounds, ROUNDS);
  const profiled = rows.find((row) => row.profile);
  if (profiled?.profile) {
    console.log(`\nCPU profile of ${profiled.label} under load (${profiled.profile}):\n`);
    console.log(formatProfile(summarizeProfile(profiled.profile, 10)));
  }
  const json = {
    startedAt,
    mode: REAL ? "real" : "in-memory",
    profile: PROFILE,
    connections: CONNECTIONS,
    warmup: WARMUP,
    duration: PROFILE ? PROFILE_DURATION : DURATION,
    rounds: ROUNDS,
    cores: cpus().length,
    node: process.version,
    rows,
    allRounds,
  };
  writeFileSync(join(WORK, "results.json"), JSON.stringify(json, null, 2));
  if (process.env.BENCH_JSON) writeFileSync(process.env.BENCH_JSON, JSON.stringify(json, null, 2));
  console.log(`\nresults: ${join(WORK, "results.json")}; child logs: ${WORK}/*.log`);
  const failed = rows.filter((row) => !row.ok || (row.errors ?? 0) + (row.timeouts ?? 0) + (row.non2xx ?? 0) + (row.mismatches ?? 0) > 0);
  return failed.length > 0 ? 1 : 0;
}

const REPORT = args.find((arg) => arg.startsWith("--report="))?.slice("--report=".length);
const exitCode = await (REPORT ? Promise.resolve(reprint(REPORT)) : main()).catch((error: unknown) => {
  console.error(error);
  return 1;
});
process.exit(exitCode);
