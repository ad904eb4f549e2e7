// A redis-server of a test's own (to kill it), ready when this resolves: it waits for the
// server's own "Ready to accept connections" line, not for a guessed time.
import { spawn, type ChildProcess } from "node:child_process";
import { createInterface } from "node:readline";
import { preflight } from "./preflight.ts";

export interface OwnRedisServer {
  readonly process: ChildProcess;
  readonly port: number;
  /** Resolves once the process has exited (after a kill, or by itself). */
  readonly exited: Promise<void>;
}

export async function startRedisServer(port: number, args: readonly string[] = ["--save", "", "--appendonly", "no"], timeoutMs = 10_000): Promise<OwnRedisServer> {
  await preflight("redis-server");
  const child = spawn("redis-server", ["--port", String(port), "--bind", "127.0.0.1", ...args], { stdio: ["ignore", "pipe", "inherit"] });
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const lines = createInterface({ input: child.stdout! });
  const seen: string[] = [];
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`redis-server on ${port} not ready after ${timeoutMs} ms: ${seen.slice(-5).join(" | ")}`)), timeoutMs);
      lines.on("line", (line) => {
        seen.push(line);
        if (line.includes("Ready to accept connections")) {
          clearTimeout(timer);
          resolve();
        }
      });
      void exited.then(() => {
        clearTimeout(timer);
        reject(new Error(`redis-server on ${port} exited before it was ready: ${seen.slice(-5).join(" | ")}`));
      });
    });
  } catch (error) {
    child.kill("SIGKILL");
    throw error;
  }
  // Keep draining its log, or a full pipe would block the server.
  child.stdout!.resume();
  return { process: child, port, exited };
}
