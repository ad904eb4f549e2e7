// The little protocol between run.ts and its child processes (over the fork() IPC channel).

import { writeFileSync } from "node:fs";
import { Session } from "node:inspector";

export type ToChild = { type: "stop" } | { type: "stats" } | { type: "profile-start" } | { type: "profile-stop"; path: string };
export type FromChild =
  | { type: "ready"; url: string; info?: Record<string, unknown> }
  | { type: "stats"; requests: number }
  | { type: "profiled"; path: string | null; error?: string }
  | { type: "error"; message: string };

function send(message: FromChild): void {
  process.send?.(message);
}

export function reportReady(url: string, info?: Record<string, unknown>): void {
  send({ type: "ready", url, info });
}

export function reportFailure(error: unknown): never {
  send({ type: "error", message: error instanceof Error ? (error.stack ?? error.message) : String(error) });
  process.exit(1);
}

/**
 * Stops on `stop` (disposing first, then exiting normally so that `--cpu-prof` writes its
 * profile) and when the parent goes away. `stats` is answered with `requests()`.
 */
export function serveControl(dispose: () => Promise<void>, requests: () => number = () => 0): void {
  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    const timer = setTimeout(() => process.exit(0), 5_000);
    timer.unref();
    try {
      await dispose();
    } catch {
      // exiting anyway
    }
    process.exit(0);
  };
  // CPU profile of a window only (run.ts brackets the measured load with profile-start/-stop),
  // through the in-process inspector: no start-up or warm-up in it, unlike --cpu-prof.
  let session: Session | null = null;
  const heapProfile = process.env.BENCH_PROFILE_KIND === "heap";
  const post = <T>(method: string, params?: object) => new Promise<T>((resolve, reject) => session!.post(method, params ?? {}, (error, result) => (error ? reject(error) : resolve(result as T))));
  process.on("message", (message: ToChild) => {
    if (message.type === "stop") void stop();
    else if (message.type === "stats") send({ type: "stats", requests: requests() });
    else if (message.type === "profile-start") {
      session = new Session();
      session.connect();
      // BENCH_PROFILE_KIND=heap: a sampling heap profile (allocations by function) instead of CPU.
      if (heapProfile) void post("HeapProfiler.startSampling", { samplingInterval: 16_384 });
      else
        void post("Profiler.enable")
          .then(() => post("Profiler.setSamplingInterval", { interval: 500 }))
          .then(() => post("Profiler.start"));
    } else if (message.type === "profile-stop") {
      void post<{ profile: unknown }>(heapProfile ? "HeapProfiler.stopSampling" : "Profiler.stop")
        .then(({ profile }) => {
          writeFileSync(message.path, JSON.stringify(profile));
          session?.disconnect();
          send({ type: "profiled", path: message.path });
        })
        .catch((error: unknown) => send({ type: "profiled", path: null, error: String(error) }));
    }
  });
  process.on("disconnect", () => void stop());
}

/** The child's configuration, passed by run.ts in BENCH_CHILD_CONFIG (JSON). */
export function childConfig<T>(): T {
  const text = process.env.BENCH_CHILD_CONFIG;
  if (!text) reportFailure(new Error("BENCH_CHILD_CONFIG is not set (children are started by bench/gateway/run.ts)"));
  return JSON.parse(text) as T;
}
