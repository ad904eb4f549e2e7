// How a long-running process of the product ends (scripts/start.ts, scripts/serve.ts,
// events/main.ts), on close-with-grace: SIGINT/SIGTERM close what was opened and exit 0; an
// uncaught exception or unhandled rejection is logged, closes the same way and exits 1; a close
// that outlasts the grace period exits 1; a second signal or error while closing exits 1 at once.
import closeWithGrace from "close-with-grace";
import type { Logger } from "./logger.ts";

export interface LifecycleOptions {
  readonly logger: Logger;
  /**
   * How long closing may take before the process exits 1 anyway: under `docker stop`'s 10 s, so
   * that this process, not SIGKILL, says what hung. @default 9_000
   */
  readonly graceMs?: number;
}

export interface Lifecycle {
  /**
   * Registers something to close on the way out. Resources close one after another in reverse
   * order of registration (the last opened closes first: the gateway drains before the database
   * it queries goes away); a failing close is logged and the next one still runs.
   */
  add(name: string, close: () => unknown): void;
  /** Closes everything, then exits 1: for a part that gave up (its supervisor restarts it). */
  fail(error: Error, message: string): void;
  /** Closes everything, then exits 0, as SIGTERM would. */
  stop(): void;
}

/** The signals close-with-grace would also handle that stay with Node's defaults here. */
const OTHER_SIGNALS = ["SIGHUP", "SIGQUIT", "SIGILL", "SIGTRAP", "SIGABRT", "SIGBUS", "SIGFPE", "SIGSEGV", "SIGUSR2"] as const;

/** Installs the process's signal and error handlers: call it first, before anything is opened. */
export function startLifecycle(options: LifecycleOptions): Lifecycle {
  const { logger } = options;
  const resources: { name: string; close: () => unknown }[] = [];
  let failure: { error: Error; message: string } | null = null;
  /** close-with-grace runs its callback again on every manual close: once is enough. */
  let closing = false;

  const closeAll = async (): Promise<boolean> => {
    let clean = true;
    for (const resource of resources.splice(0).reverse()) {
      try {
        await resource.close();
      } catch (error) {
        clean = false;
        logger.error({ err: error, resource: resource.name }, "closing failed");
      }
    }
    return clean;
  };

  const handlers = closeWithGrace(
    {
      delay: options.graceMs ?? 9_000,
      logger: { error: (message: unknown) => logger.error(message instanceof Error ? { err: message } : { message }, "closing") },
      // Signals and errors only: a process that runs out of work ends as Node ends it.
      skip: [...OTHER_SIGNALS, "beforeExit"],
      onTimeout: (delay) => logger.error({ graceMs: delay }, "closing took longer than the grace period; exiting 1"),
      onSecondSignal: (signal) => logger.error({ signal }, "second signal while closing; exiting 1"),
      onSecondError: (error) => logger.error({ err: error }, "another error while closing; exiting 1"),
    },
    async ({ signal, err }) => {
      closing = true;
      if (err) logger.fatal({ err }, "uncaught error; closing and exiting 1");
      else if (failure) logger.fatal({ err: failure.error }, failure.message);
      else logger.info({ signal: signal ?? "stop" }, "stopping");
      const clean = await closeAll();
      // close-with-grace exits 1 after an error itself; a failed part or close must not exit 0.
      if (!err && (failure || !clean)) process.exit(1);
    },
  );

  return {
    add(name, close) {
      resources.push({ name, close });
    },
    fail(error, message) {
      if (closing) return;
      failure = { error, message };
      handlers.close();
    },
    stop() {
      if (!closing) handlers.close();
    },
  };
}
