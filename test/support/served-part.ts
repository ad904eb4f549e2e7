// One part of the product in a process of its own, started the way production starts it
// (`node scripts/serve.ts <part>`, configured by environment), for tests that restart replicas.
import { spawn, type ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";
import { freePort } from "./free-port.ts";
import { waitFor } from "./wait.ts";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));

export type ServedPartName = "users" | "projects" | "items" | "integrations" | "gateway";

export interface ServedPart {
  readonly part: ServedPartName;
  /** `http://127.0.0.1:<port>` (a subgraph serves /graphql under it). */
  readonly url: string;
  readonly child: ChildProcess;
  /** The exit code (or the signal's name) once the process has ended. */
  readonly exited: Promise<number | string>;
  /** The last lines it wrote to stdout and stderr, for failure messages. */
  output(): string;
  /**
   * Resolves once the part's /readyz answers 200. @default timeoutMs 120_000: eight processes
   * starting at once on two cores shared with other suites (load 20) have taken over 60 s
   */
  ready(timeoutMs?: number): Promise<void>;
  /** SIGTERM, then waits for the exit; resolves with its code. */
  stop(): Promise<number | string>;
  /** Last resort for a process "exit" listener: SIGKILL, synchronous. */
  killNow(): void;
}

/** Starts `scripts/serve.ts <part>` on a free port of 127.0.0.1 with `env` added to this process's environment. */
export async function startServedPart(part: ServedPartName, env: Readonly<Record<string, string>>): Promise<ServedPart> {
  const port = await freePort();
  const child = spawn(process.execPath, ["--import", "./platform/compile-cache.ts", "scripts/serve.ts", part], {
    cwd: ROOT,
    env: { ...process.env, LOG_LEVEL: "warn", ...env, PORT: String(port), HOST: "127.0.0.1" },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let tail = "";
  const keep = (chunk: Buffer) => {
    tail = (tail + chunk.toString("utf8")).slice(-6_000);
  };
  child.stdout?.on("data", keep);
  child.stderr?.on("data", keep);
  const exited = new Promise<number | string>((resolve) => child.once("exit", (code, signal) => resolve(code ?? signal ?? "unknown")));
  let ended: number | string | undefined;
  void exited.then((code) => (ended = code));
  const url = `http://127.0.0.1:${port}`;
  const probe = "/readyz";
  return {
    part,
    url,
    child,
    exited,
    output: () => tail,
    async ready(timeoutMs = 120_000) {
      await waitFor(
        `${part} on ${url}${probe}`,
        async () => {
          if (ended !== undefined) throw new Error(`${part} exited with ${ended} before it was ready:\n${tail}`);
          const answer = await fetch(`${url}${probe}`).catch(() => null);
          await answer?.body?.cancel();
          return answer?.status === 200;
        },
        () => tail,
        timeoutMs,
      );
    },
    async stop() {
      if (ended === undefined) child.kill("SIGTERM");
      return exited;
    },
    killNow() {
      if (ended === undefined) child.kill("SIGKILL");
    },
  };
}
