// HTTP layer alone, gateway-shaped traffic: node:http vs Fastify 5 (default, and tuned to be fair).
// Each server runs in its own child process, one at a time; autocannon runs here, in the parent.
// See bench/README.md, "HTTP server: node:http vs Fastify".
//
//   node bench/http/run.ts [--only=node-http,fastify-default,fastify-tuned]
//   env: BENCH_DURATION (10 s measured), BENCH_WARMUP (5 s, discarded), BENCH_CONNECTIONS (50),
//        BENCH_ROUNDS (1: interleaved rounds; figures become medians)
import { fork, type ChildProcess } from "node:child_process";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import type autocannonType from "autocannon";
import { AUTHORIZATION, HEALTH_BODY, REQUEST_BODY, RESPONSE_BODY } from "./payload.ts";
import { machineBusyMs, processCpuMs } from "../lib/proc-cpu.ts";
import { untilReady } from "../lib/child-ready.ts";

const autocannon: typeof autocannonType = await import("autocannon").then(
  (module) => module.default,
  () => {
    console.error("autocannon is missing: run `cd bench && npm install` first");
    process.exit(2);
  },
);

function numberEnv(name: string, fallback: number, min = 0): number {
  const value = Number(process.env[name] ?? fallback);
  if (!Number.isFinite(value) || value < min) throw new Error(`${name} must be a number >= ${min}`);
  return value;
}
const DURATION = numberEnv("BENCH_DURATION", 10, 1);
const WARMUP = numberEnv("BENCH_WARMUP", 5);
const CONNECTIONS = numberEnv("BENCH_CONNECTIONS", 50, 1);
const ROUNDS = Math.floor(numberEnv("BENCH_ROUNDS", 1, 1));

const SERVERS = [
  { key: "node-http", label: "node:http (read Buffer, JSON.parse, writeHead+end)" },
  { key: "fastify-default", label: "Fastify 5, defaults (default JSON parser)" },
  { key: "fastify-tuned", label: "Fastify 5, logger off + raw-string parser, JSON.parse" },
] as const;
type ServerKey = (typeof SERVERS)[number]["key"];
const ONLY = process.argv
  .find((arg) => arg.startsWith("--only="))
  ?.slice("--only=".length)
  .split(",");
const selected = SERVERS.filter((server) => !ONLY || ONLY.includes(server.key));
if (selected.length === 0) throw new Error(`--only: none of ${SERVERS.map((s) => s.key).join(", ")}`);

const WORKLOADS = {
  graphql: {
    label: `POST /graphql (${REQUEST_BODY.length} B JSON + authorization → ${(RESPONSE_BODY.length / 1024).toFixed(1)} KB)`,
    path: "/graphql",
    method: "POST" as const,
    headers: { "content-type": "application/json", authorization: AUTHORIZATION },
    body: REQUEST_BODY,
    expect: RESPONSE_BODY,
  },
  healthz: {
    label: "GET /healthz",
    path: "/healthz",
    method: "GET" as const,
    headers: {} as Record<string, string>,
    body: undefined,
    expect: HEALTH_BODY,
  },
};
type WorkloadKey = keyof typeof WORKLOADS;

// ───────────────────────────── child processes ─────────────────────────────

const live = new Set<ChildProcess>();
process.on("exit", () => {
  for (const child of live) child.kill("SIGKILL");
});
for (const signal of ["SIGINT", "SIGTERM"] as const) process.on(signal, () => process.exit(130));

interface Server {
  readonly pid: number;
  readonly url: string;
  stop(): Promise<void>;
}

async function startServer(key: ServerKey): Promise<Server> {
  const child = fork(fileURLToPath(new URL("./server.ts", import.meta.url)), [key], {
    execArgv: [],
    env: { ...process.env, NODE_ENV: "production" },
    stdio: ["ignore", "inherit", "inherit", "ipc"],
  });
  live.add(child);
  const exited = new Promise<void>((resolve) =>
    child.once("exit", () => {
      live.delete(child);
      resolve();
    }),
  );
  const { port } = await untilReady<{ type: "ready"; port: number }>(child, key, 30_000);
  return {
    pid: child.pid!,
    url: `http://127.0.0.1:${port}`,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.send({ type: "stop" });
      const killer = setTimeout(() => child.kill("SIGKILL"), 5_000);
      await exited;
      clearTimeout(killer);
    },
  };
}

// ───────────────────────────── measuring ─────────────────────────────

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Waits until the server has finished what autocannon abandoned when it stopped (≤ 1 request per connection). */
async function drain(pid: number): Promise<void> {
  let last = processCpuMs(pid);
  for (let quiet = 0, i = 0; quiet < 2 && i < 40; i++) {
    await sleep(100);
    const now = processCpuMs(pid);
    quiet = now - last <= 2 ? quiet + 1 : 0;
    last = now;
  }
}

/** One request; the exact status, content type and body every server must give. */
async function verify(server: Server, workload: WorkloadKey): Promise<string> {
  const w = WORKLOADS[workload];
  const response = await fetch(server.url + w.path, { method: w.method, headers: w.headers, body: w.body });
  const text = await response.text();
  if (response.status !== 200) throw new Error(`${workload}: status ${response.status}: ${text.slice(0, 200)}`);
  if (text !== w.expect) throw new Error(`${workload}: body differs from the precomputed one (${text.length} B)`);
  return `${response.headers.get("content-type")}, ${response.headers.get("content-length")} B`;
}

function load(server: Server, workload: WorkloadKey, seconds: number): Promise<autocannonType.Result> {
  const w = WORKLOADS[workload];
  return autocannon({
    url: server.url + w.path,
    method: w.method,
    headers: w.headers,
    ...(w.body !== undefined ? { body: w.body } : {}),
    connections: CONNECTIONS,
    duration: seconds,
    timeout: 10,
  });
}

interface Measurement {
  rps: number;
  p50: number;
  p99: number;
  cpuMsPerRequest: number;
  /** Server CPU over the window / wall time: ~1 means its one JS thread was the bottleneck. */
  serverCores: number;
  /** Cores used by other processes than the server and this one (the machine may be shared). */
  otherCores: number;
  requests: number;
  failures: number;
}

async function measure(server: Server, workload: WorkloadKey): Promise<Measurement> {
  if (WARMUP > 0) {
    await load(server, workload, WARMUP);
    await drain(server.pid);
  }
  const cpuBefore = processCpuMs(server.pid);
  const machineBefore = machineBusyMs();
  const runnerBefore = process.cpuUsage();
  const started = performance.now();
  const result = await load(server, workload, DURATION);
  const wallMs = performance.now() - started;
  const cpuAfter = processCpuMs(server.pid);
  const runner = process.cpuUsage(runnerBefore);
  const others = machineBusyMs() - machineBefore - (cpuAfter - cpuBefore) - (runner.user + runner.system) / 1000;
  await drain(server.pid);
  const requests = result.requests.total;
  return {
    rps: requests / (wallMs / 1000),
    p50: result.latency.p50,
    p99: result.latency.p99,
    cpuMsPerRequest: (cpuAfter - cpuBefore) / Math.max(1, requests),
    serverCores: (cpuAfter - cpuBefore) / wallMs,
    otherCores: Math.max(0, others) / wallMs,
    requests,
    failures: result.errors + result.timeouts + result.non2xx,
  };
}

// ───────────────────────────── run ─────────────────────────────

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
};

console.log(
  `HTTP layer: ${selected.map((s) => s.key).join(", ")}; ${CONNECTIONS} connections, ${WARMUP} s warm-up (discarded) + ` +
    `${DURATION} s measured per workload, ${ROUNDS} round(s); Node ${process.version}, ` +
    `${(await import("node:os")).availableParallelism()} cores; fastify ${JSON.parse(readFileSync(fileURLToPath(import.meta.resolve("fastify/package.json")), "utf8")).version}, autocannon in this process`,
);

const results = new Map<string, Measurement[]>(); // `${server}/${workload}` → one per round
let failed = false;
for (let round = 1; round <= ROUNDS; round++) {
  for (const spec of selected) {
    process.stdout.write(`${ROUNDS > 1 ? `[round ${round}] ` : ""}${spec.key}: `);
    const server = await startServer(spec.key);
    try {
      for (const workload of Object.keys(WORKLOADS) as WorkloadKey[]) {
        const headers = await verify(server, workload);
        if (round === 1) process.stdout.write(`${workload} ok (${headers}); `);
        const m = await measure(server, workload);
        if (m.failures > 0) failed = true;
        process.stdout.write(`${workload} ${m.rps.toFixed(0)} RPS${m.failures ? ` (${m.failures} FAILED)` : ""}; `);
        const key = `${spec.key}/${workload}`;
        results.set(key, [...(results.get(key) ?? []), m]);
      }
    } finally {
      await server.stop();
    }
    process.stdout.write("\n");
  }
}

const f = (value: number, digits: number) => value.toFixed(digits);
for (const workload of Object.keys(WORKLOADS) as WorkloadKey[]) {
  const rows = selected
    .filter((spec) => results.has(`${spec.key}/${workload}`))
    .map((spec) => {
      const ms = results.get(`${spec.key}/${workload}`)!;
      const pick = (field: keyof Measurement) => median(ms.map((m) => m[field]));
      return {
        spec,
        rps: pick("rps"),
        p50: pick("p50"),
        p99: pick("p99"),
        cpu: pick("cpuMsPerRequest"),
        cores: pick("serverCores"),
        others: pick("otherCores"),
        failures: ms.reduce((sum, m) => sum + m.failures, 0),
      };
    });
  const base = rows.find((row) => row.spec.key === "node-http");
  console.log(`\n${WORKLOADS[workload].label}${ROUNDS > 1 ? ` (medians of ${ROUNDS} rounds)` : ""}`);
  console.log("| server | RPS | p50 ms | p99 ms | server CPU ms/req | server cores | RPS vs node:http | CPU/req vs node:http | other cores | failures |");
  console.log("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
  for (const row of rows) {
    console.log(
      `| ${row.spec.label} | ${f(row.rps, 0)} | ${f(row.p50, 0)} | ${f(row.p99, 0)} | ${f(row.cpu, 4)} | ${f(row.cores, 2)} | ` +
        `${base ? `${f(row.rps / base.rps, 2)}×` : "—"} | ${base ? `${f(row.cpu / base.cpu, 2)}×` : "—"} | ${f(row.others, 2)} | ${row.failures} |`,
    );
  }
}
console.log(
  "\nserver cores: the server process's CPU (utime+stime, /proc) over the measured window / wall time; " +
    "near 1.0 = its JS thread was saturated; well under 1.0 = the load generator (same 2 cores) was the limit, compare CPU ms/req. " +
    "other cores: CPU of every other process (machine busy − server − this runner) over the window: above ~0.2 the run was disturbed.",
);
if (failed) console.log("FAILED: some requests errored, timed out or got a non-2xx status");
process.exitCode = failed ? 1 : 0;
