// The child side of lib.ts's startChild: config, ready/error, request handlers, stop.

type Handler = (message: Record<string, unknown>) => unknown;

export function childConfig<T>(): T {
  const text = process.env.BENCH_CHILD_CONFIG;
  if (!text) fail(new Error("BENCH_CHILD_CONFIG is not set (children are started by bench/subscriptions/*.ts)"));
  return JSON.parse(text) as T;
}

export function ready(info: Record<string, unknown> = {}): void {
  process.send?.({ type: "ready", info });
}

export function emit(type: string, body: Record<string, unknown>): void {
  process.send?.({ ...body, type });
}

export function fail(error: unknown): never {
  process.send?.({ type: "error", message: error instanceof Error ? (error.stack ?? error.message) : String(error) });
  process.exit(1);
}

/** Answers requests by type; `stop` disposes and exits (also when the parent goes away). */
export function serve(handlers: Record<string, Handler>, dispose: () => Promise<void>): void {
  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    const timer = setTimeout(() => process.exit(0), 10_000);
    timer.unref();
    try {
      await dispose();
    } catch (error) {
      console.error("dispose failed", error);
    }
    process.exit(0);
  };
  process.on("message", (raw) => {
    const message = raw as Record<string, unknown> & { type: string; id: number };
    if (message.type === "stop") return void stop();
    const handler = handlers[message.type];
    if (!handler) return void process.send?.({ type: "reply", id: message.id, error: `unknown request ${message.type}` });
    Promise.resolve()
      .then(() => handler(message))
      .then(
        (data) => process.send?.({ type: "reply", id: message.id, data }),
        (error: unknown) => process.send?.({ type: "reply", id: message.id, error: error instanceof Error ? (error.stack ?? error.message) : String(error) }),
      );
  });
  process.on("disconnect", () => void stop());
}
