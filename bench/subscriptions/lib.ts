import http from "node:http";
// Shared by bench/subscriptions/latency.ts and fanout.ts: child processes over fork() IPC, a fresh
// seeded database, /proc accounting (CPU, RSS), the quiet-machine wait, percentiles.
import { fork, type ChildProcess } from "node:child_process";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import pg from "pg";
import { machineBusyMs, processCpuMs } from "../lib/proc-cpu.ts";

export { machineBusyMs, processCpuMs };

/** Wall-clock ms with sub-ms resolution, comparable across the processes of one machine. */
export const now = (): number => performance.timeOrigin + performance.now();
export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export function numberEnv(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === "") return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value)) throw new Error(`${name} must be a number, got ${raw}`);
  return value;
}

export const BENCH_JWT = { secret: "bench-subscriptions-jwt-secret-32-bytes!", issuer: "sunday-bench", audience: "sunday-api" } as const;
export const BENCH_SIGNING_SECRET = "bench-subscriptions-internal-signing-secret";
export const REDIS_URL = process.env.BENCH_REDIS_URL ?? process.env.TEST_REDIS_URL ?? "redis://127.0.0.1:6379";
export const ADMIN_DATABASE_URL = process.env.BENCH_ADMIN_DATABASE_URL ?? process.env.TEST_DATABASE_URL ?? "postgresql://postgres@127.0.0.1:5432/postgres";

// ───────────────────────────── database ─────────────────────────────

async function admin<T>(run: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: ADMIN_DATABASE_URL });
  await client.connect();
  try {
    return await run(client);
  } finally {
    await client.end();
  }
}

export async function createDatabase(name: string): Promise<string> {
  await admin(async (client) => {
    await client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    await client.query(`CREATE DATABASE ${name}`);
  });
  const url = new URL(ADMIN_DATABASE_URL);
  url.pathname = `/${name}`;
  return url.toString();
}

export async function dropDatabase(name: string): Promise<void> {
  await admin((client) => client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`));
}

// ───────────────────────────── children ─────────────────────────────

export interface Child {
  readonly name: string;
  readonly pid: number;
  readonly process: ChildProcess;
  /** What the child reported when ready. */
  readonly info: Record<string, unknown>;
  /** Sends a request and resolves with the child's reply. */
  request<T = unknown>(type: string, body?: Record<string, unknown>, timeoutMs?: number): Promise<T>;
  /** Messages the child sends on its own (not replies). */
  on(type: string, listener: (message: Record<string, unknown>) => void): void;
  stop(): Promise<void>;
}

/**
 * Forks `children/<script>` with `config` (BENCH_CHILD_CONFIG) and waits for its `ready`. `root`: the
 * root of another copy of the repository (e.g. a snapshot of an older commit) whose
 * `bench/subscriptions/children/<script>` runs instead of ours, on that copy's code.
 */
export async function startChild(name: string, script: string, config: unknown, options: { execArgv?: string[]; timeoutMs?: number; root?: string } = {}): Promise<Child> {
  const path = options.root ? join(options.root, "bench", "subscriptions", "children", script) : fileURLToPath(new URL(`./children/${script}`, import.meta.url));
  if (!existsSync(path)) throw new Error(`${name}: ${path} does not exist`);
  const child = fork(path, [], {
    execArgv: [...(options.execArgv ?? [])],
    env: { ...process.env, BENCH_CHILD_CONFIG: JSON.stringify(config), LOG_LEVEL: process.env.LOG_LEVEL ?? "warn" },
    stdio: ["ignore", "inherit", "inherit", "ipc"],
  });
  let nextId = 0;
  const pending = new Map<number, { resolve(value: unknown): void; reject(error: Error): void }>();
  const listeners = new Map<string, ((message: Record<string, unknown>) => void)[]>();
  let exited = false;
  const ready = new Promise<Record<string, unknown>>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${name}: not ready after ${options.timeoutMs ?? 180_000} ms`)), options.timeoutMs ?? 180_000);
    child.on("message", (raw) => {
      const message = raw as Record<string, unknown> & { type: string };
      if (message.type === "ready") {
        clearTimeout(timer);
        resolve((message.info ?? {}) as Record<string, unknown>);
      } else if (message.type === "error") {
        clearTimeout(timer);
        reject(new Error(`${name} failed: ${String(message.message)}`));
      } else if (message.type === "reply") {
        const waiter = pending.get(message.id as number);
        pending.delete(message.id as number);
        if (message.error) waiter?.reject(new Error(`${name}: ${String(message.error)}`));
        else waiter?.resolve(message.data);
      } else for (const listener of listeners.get(message.type) ?? []) listener(message);
    });
    child.on("exit", (code, signal) => {
      exited = true;
      clearTimeout(timer);
      reject(new Error(`${name} exited (${code ?? signal}) before it was ready`));
      for (const waiter of pending.values()) waiter.reject(new Error(`${name} exited (${code ?? signal})`));
      pending.clear();
    });
  });
  const info = await ready;
  return {
    name,
    pid: child.pid!,
    process: child,
    info,
    request<T>(type: string, body: Record<string, unknown> = {}, timeoutMs = 120_000) {
      const id = nextId++;
      return new Promise<T>((resolve, reject) => {
        if (exited) return reject(new Error(`${name} has exited`));
        const timer = setTimeout(() => {
          pending.delete(id);
          reject(new Error(`${name}: no reply to ${type} in ${timeoutMs} ms`));
        }, timeoutMs);
        pending.set(id, {
          resolve: (value) => {
            clearTimeout(timer);
            resolve(value as T);
          },
          reject: (error) => {
            clearTimeout(timer);
            reject(error);
          },
        });
        child.send({ ...body, type, id });
      });
    },
    on(type, listener) {
      listeners.set(type, [...(listeners.get(type) ?? []), listener]);
    },
    async stop() {
      if (exited) return;
      const gone = new Promise<void>((resolve) => child.once("exit", () => resolve()));
      child.send({ type: "stop", id: -1 });
      const timer = setTimeout(() => child.kill("SIGKILL"), 15_000);
      await gone;
      clearTimeout(timer);
    },
  };
}

// ───────────────────────────── /proc ─────────────────────────────

/** VmRSS and VmHWM (peak) of a process, in MB. */
export function memoryMb(pid: number): { rss: number; peak: number } {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const field = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, "m").exec(status)?.[1] ?? NaN) / 1024;
  return { rss: field("VmRSS"), peak: field("VmHWM") };
}

function cmdline(pid: string): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, "utf8").replace(/\0/g, " ");
  } catch {
    return "";
  }
}

/** PostgreSQL backends serving `database` (their process title names it). */
export function databaseBackends(database: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    const title = cmdline(entry);
    if (title.startsWith("postgres:") && title.includes(` ${database} `)) pids.push(Number(entry));
  }
  return pids;
}

/** The shared services we use (their CPU is attributed to us during a run; others use them too). */
export function servicePids(): { kafka: number[]; redis: number[] } {
  const kafka: number[] = [];
  const redis: number[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    const title = cmdline(entry);
    if (title.includes("kafka.Kafka")) kafka.push(Number(entry));
    else if (title.startsWith("redis-server")) redis.push(Number(entry));
  }
  return { kafka, redis };
}

export function cpuOf(pids: readonly number[]): number {
  let total = 0;
  for (const pid of pids) {
    try {
      total += processCpuMs(pid);
    } catch {
      // gone meanwhile
    }
  }
  return total;
}

/** One database name, or several (A/B runs: one database per variant). */
export type Databases = string | readonly string[];

/** Our own CPU: this process and the given ones (and PostgreSQL backends of our database(s)). */
export function ownCpuMs(pids: readonly number[], database: Databases): number {
  const usage = process.cpuUsage();
  const backends = (typeof database === "string" ? [database] : database).flatMap((name) => databaseBackends(name));
  return (usage.user + usage.system) / 1000 + cpuOf(pids) + cpuOf(backends);
}

/** Cores used by everything else on the machine over `ms`. */
export async function foreignCores(pids: readonly number[], database: Databases, ms = 1_000): Promise<number> {
  const machine0 = machineBusyMs();
  const own0 = ownCpuMs(pids, database);
  const at0 = performance.now();
  await sleep(ms);
  const machine = machineBusyMs() - machine0;
  const own = ownCpuMs(pids, database) - own0;
  return Math.max(0, machine - own) / (performance.now() - at0);
}

/** Waits (up to `maxSeconds`) until other processes use fewer than `cores`; returns what it saw. */
export async function waitForQuiet(pids: readonly number[], database: Databases, maxSeconds: number, cores: number): Promise<{ waited: number; foreign: number }> {
  const started = performance.now();
  let foreign = await foreignCores(pids, database);
  while (foreign > cores && performance.now() - started < maxSeconds * 1000) foreign = await foreignCores(pids, database);
  return { waited: (performance.now() - started) / 1000, foreign };
}

export function loadAverage(): string {
  return readFileSync("/proc/loadavg", "utf8").split(" ").slice(0, 3).join(" ");
}

// ───────────────────────────── figures ─────────────────────────────

/** Nearest-rank percentile of sorted values. */
/** Median (the mean of the two middle values of an even count), ignoring NaN; NaN when empty. */
export function median(values: readonly number[]): number {
  const sorted = values.filter((value) => Number.isFinite(value)).sort((a, b) => a - b);
  if (sorted.length === 0) return NaN;
  const middle = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return NaN;
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank]!;
}

export function summary(values: readonly number[]): { n: number; p50: number; p90: number; p99: number; max: number; mean: number } {
  const sorted = [...values].sort((a, b) => a - b);
  return {
    n: sorted.length,
    p50: percentile(sorted, 50),
    p90: percentile(sorted, 90),
    p99: percentile(sorted, 99),
    max: sorted.at(-1) ?? NaN,
    mean: sorted.reduce((a, b) => a + b, 0) / (sorted.length || 1),
  };
}

export const fmt = (value: number, digits = 1): string => (Number.isFinite(value) ? value.toFixed(digits) : "–");

export function table(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const line = (cells: readonly string[]) => `| ${cells.join(" | ")} |`;
  return [line(header), line(header.map(() => "---")), ...rows.map(line)].join("\n");
}

/** A gateway's answer to `postGraphQL`. */
export interface GraphQLAnswer {
  readonly status: number;
  readonly headers: http.IncomingHttpHeaders;
  readonly text: string;
}

/** POSTs a GraphQL body to `<url>/graphql` as the bearer of `token`, over `agent`'s kept-alive sockets. */
export function postGraphQL(agent: http.Agent, url: string, token: string, body: string): Promise<GraphQLAnswer> {
  return new Promise((resolve, reject) => {
    const request = http.request(
      `${url}/graphql`,
      { method: "POST", agent, headers: { "content-type": "application/json", authorization: `Bearer ${token}`, "content-length": Buffer.byteLength(body) } },
      (response) => {
        const chunks: Buffer[] = [];
        response.on("data", (chunk: Buffer) => chunks.push(chunk));
        response.on("end", () => resolve({ status: response.statusCode ?? 0, headers: response.headers, text: Buffer.concat(chunks).toString("utf8") }));
        response.on("error", reject);
      },
    );
    request.on("error", reject);
    request.end(body);
  });
}
