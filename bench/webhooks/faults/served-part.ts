// A part of the full stack run as its own process, exactly as production runs it (`node
// scripts/serve.ts integrations-runtime`, `node events/main.ts relay`), so that the benchmark can
// SIGKILL it. Readiness is the part's own /readyz probe (events/health.ts) on a port fixed for the
// whole run, polled also while it runs so that the report can say when the part was not ready.
//
// It is supervised the way docker-compose or Kubernetes would: a part that exits on its own (a
// consumer that gave up exits 1 for its supervisor) is started again after a second, and the exit
// is kept for the report. A kill the benchmark makes itself is not an unexpected exit.
import { type ChildProcess, spawn } from "node:child_process";
import { closeSync, openSync, readFileSync, statSync } from "node:fs";
import { setTimeout as sleep } from "node:timers/promises";

export interface ServedPartOptions {
  /** Named in the report and in errors. */
  readonly name: string;
  /** The script and its arguments, relative to the repository root (the working directory). */
  readonly args: readonly string[];
  /** Added to this process's environment; PORT and HOST (the probes) are set here. */
  readonly env: Readonly<Record<string, string>>;
  /** The probes' port: the same on every start. */
  readonly port: number;
  /** stdout and stderr of every start are appended here. */
  readonly logPath: string;
  /** How long a start may take to answer /readyz with 200. @default 120 000 */
  readonly readyTimeoutMs?: number;
}

/** A change of the part's readiness, or an exit. */
export interface PartEvent {
  /** performance.now() */
  readonly at: number;
  readonly kind: "ready" | "not ready" | "exited" | "killed" | "started";
  readonly detail?: string;
}

export class ServedPart {
  readonly name: string;
  /** What happened to the part, in order (readiness as polled, starts, kills, exits). */
  readonly timeline: PartEvent[] = [];
  /** Exits the benchmark did not cause, each followed by a restart. */
  readonly unexpectedExits: PartEvent[] = [];
  private readonly options: ServedPartOptions;
  private child: ChildProcess | null = null;
  private expectingExit = false;
  private watching: NodeJS.Timeout | null = null;
  private lastReady: boolean | null = null;
  private disposed = false;

  constructor(options: ServedPartOptions) {
    this.name = options.name;
    this.options = options;
  }

  get pid(): number | null {
    return this.child?.pid ?? null;
  }

  /** Spawns the part and resolves once /readyz answers 200; rejects if it exits first or times out. */
  async start(): Promise<void> {
    if (this.child) throw new Error(`${this.name} is running already`);
    const log = openSync(this.options.logPath, "a");
    const child = spawn(process.execPath, [...this.options.args], {
      env: { ...process.env, ...this.options.env, PORT: String(this.options.port), HOST: "127.0.0.1" },
      stdio: ["ignore", log, log],
    });
    closeSync(log);
    this.child = child;
    this.expectingExit = false;
    this.note("started", `pid ${child.pid}`);
    child.once("exit", (code, signal) => {
      if (this.child === child) this.child = null;
      const detail = `code ${code ?? "-"}, signal ${signal ?? "-"}`;
      if (this.expectingExit || this.disposed) return;
      const exit = this.note("exited", detail);
      this.unexpectedExits.push(exit);
      console.error(`[${this.name}] exited on its own (${detail}); starting it again as a supervisor would.${this.logTail()}`);
      void sleep(1_000).then(() => (this.disposed || this.child ? undefined : this.start().catch((error) => console.error(`[${this.name}] restart failed:`, error))));
    });
    const deadline = Date.now() + (this.options.readyTimeoutMs ?? 120_000);
    for (;;) {
      if (this.child !== child) throw new Error(`${this.name} exited before it was ready${this.logTail()}`);
      if ((await this.probe()).ready) return;
      if (Date.now() > deadline) throw new Error(`${this.name} not ready after ${this.options.readyTimeoutMs ?? 120_000} ms${this.logTail()}`);
      await sleep(200);
    }
  }

  /** SIGKILL, no drain: resolves once the process is gone. */
  async kill(): Promise<void> {
    const child = this.child;
    if (!child) return;
    this.expectingExit = true;
    const gone = new Promise<void>((resolve) => child.once("exit", () => resolve()));
    child.kill("SIGKILL");
    this.note("killed", `pid ${child.pid}`);
    await gone;
  }

  /** SIGTERM (the part drains and exits 0), SIGKILL after `graceMs`. */
  async stop(graceMs = 20_000): Promise<void> {
    const child = this.child;
    if (!child) return;
    this.expectingExit = true;
    const gone = new Promise<void>((resolve) => child.once("exit", () => resolve()));
    child.kill("SIGTERM");
    const timer = setTimeout(() => child.kill("SIGKILL"), graceMs);
    await gone;
    clearTimeout(timer);
  }

  /** Polls /readyz every `intervalMs` and keeps the changes in `timeline`. */
  watch(intervalMs = 500): void {
    if (this.watching) return;
    let busy = false;
    this.watching = setInterval(() => {
      if (busy || !this.child) return;
      busy = true;
      void this.probe().finally(() => {
        busy = false;
      });
    }, intervalMs);
  }

  /** Stops watching and, without the supervisor restarting it, stops the part. */
  async dispose(): Promise<void> {
    this.disposed = true;
    if (this.watching) clearInterval(this.watching);
    this.watching = null;
    await this.stop();
  }

  /** For a process "exit" listener: synchronous, takes the part down with this process. */
  killNow(): void {
    this.disposed = true;
    this.child?.kill("SIGKILL");
  }

  /** The end of the part's log, for errors. */
  logTail(bytes = 3_000): string {
    try {
      const size = statSync(this.options.logPath).size;
      const text = readFileSync(this.options.logPath, "utf8");
      return `\n---- last lines of ${this.options.logPath} (${size} bytes) ----\n${text.slice(-bytes)}`;
    } catch {
      return "";
    }
  }

  private async probe(): Promise<{ ready: boolean; reason: string }> {
    let ready = false;
    let reason = "";
    try {
      const response = await fetch(`http://127.0.0.1:${this.options.port}/readyz`, { signal: AbortSignal.timeout(1_000) });
      const body = (await response.json()) as { reason?: string };
      ready = response.status === 200;
      reason = body.reason ?? "";
    } catch (error) {
      reason = error instanceof Error ? error.message : String(error);
    }
    if (ready !== this.lastReady) {
      this.lastReady = ready;
      this.note(ready ? "ready" : "not ready", reason);
    }
    return { ready, reason };
  }

  private note(kind: PartEvent["kind"], detail?: string): PartEvent {
    if (kind === "started" || kind === "killed" || kind === "exited") this.lastReady = null;
    const event = { at: performance.now(), kind, detail };
    this.timeline.push(event);
    return event;
  }
}
