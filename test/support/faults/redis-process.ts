// A redis-server of a test's own that can be killed and started again on the same port, with or
// without persistence: the fault tests' Redis.
//
// Why not redis-server.ts's startRedisServer (ready on the server's "Ready to accept connections"
// line): that resolves sooner than polling PING every 50 ms, as this does, and with it scenario 5 of
// subscriptions-faults failed 2 runs of 3 (a connected client not told CURSOR_EXPIRED). Not a test
// problem: the earlier start widens a gateway race (a stream lost with a Redis restart goes untold
// when the bridge appends to the new Redis before the gateway's pub/sub connection is ready again).
// Until that is fixed, restarts keep the timing the scenarios were written against.
import { spawn, type ChildProcess } from "node:child_process";
import { mkdir } from "node:fs/promises";
import { connect } from "node:net";
import { join } from "node:path";
import { preflight } from "../preflight.ts";
import { waitFor } from "../wait.ts";

/** `aof`: an append-only file fsynced on every write, so even SIGKILL loses nothing; `memory`: nothing on disk. */
export type RedisPersistence = "aof" | "memory";

export interface RedisProcessOptions {
  readonly port: number;
  /** Each start's data (and redis.log) lives in a directory under this one, named by start(). */
  readonly root: string;
  /** How long a start may take, loading its AOF included (default 20 s). */
  readonly startTimeoutMs?: number;
}

export class RedisProcess {
  readonly port: number;
  private readonly root: string;
  private readonly startTimeoutMs: number;
  private child: ChildProcess | null = null;

  constructor(options: RedisProcessOptions) {
    this.port = options.port;
    this.root = options.root;
    this.startTimeoutMs = options.startTimeoutMs ?? 20_000;
  }

  get running(): boolean {
    return this.child !== null;
  }

  /** Starts the server with its data in `<root>/<dirName>` (the same dir again: the same AOF); resolves once it answers PING. */
  async start(mode: RedisPersistence, dirName: string): Promise<void> {
    await preflight("redis-server");
    const dir = join(this.root, dirName);
    await mkdir(dir, { recursive: true });
    const persistence = mode === "aof" ? ["--appendonly", "yes", "--appendfsync", "always"] : ["--appendonly", "no"];
    const child = spawn("redis-server", ["--port", String(this.port), "--bind", "127.0.0.1", "--save", "", ...persistence, "--daemonize", "no", "--dir", dir, "--logfile", join(dir, "redis.log")], {
      stdio: "ignore",
    });
    this.child = child;
    child.once("exit", () => {
      if (this.child === child) this.child = null;
    });
    await waitFor(
      `redis-server on ${this.port}`,
      () => this.ping(),
      () => `see ${join(dir, "redis.log")}`,
      this.startTimeoutMs,
    );
  }

  /** SIGTERM: a clean shutdown; SIGKILL: a crash. Resolves once the process has exited. */
  async stop(signal: "SIGTERM" | "SIGKILL"): Promise<void> {
    const child = this.child;
    if (!child) return;
    const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
    child.kill(signal);
    await exited;
    this.child = null;
  }

  /** Last resort when the test process exits without its after() hook (synchronous, for an "exit" listener). */
  killNow(): void {
    this.child?.kill("SIGKILL");
  }

  dispose(): Promise<void> {
    return this.stop("SIGTERM");
  }

  /** True once the server answers PING with PONG (not LOADING). */
  private ping(): Promise<boolean> {
    return new Promise((resolve) => {
      const socket = connect(this.port, "127.0.0.1");
      let answer = "";
      const done = (ok: boolean) => {
        socket.destroy();
        resolve(ok);
      };
      socket.setTimeout(1_000, () => done(false));
      socket.once("error", () => done(false));
      socket.once("connect", () => socket.write("PING\r\n"));
      socket.on("data", (chunk: Buffer) => {
        answer += chunk.toString("utf8");
        if (answer.includes("\r\n")) done(answer.startsWith("+PONG"));
      });
    });
  }
}
